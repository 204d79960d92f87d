// dumpcrypt core-handler: the kernel's core_pattern pipe, sealed as it is
// read, under the key the host's policy names.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/file_io.h"
#include "base/status_macros.h"
#include "base/utf8.h"
#include "envelope/envelope_writer.h"
#include "tools/cli_util.h"
#include "tools/commands.h"
#include "tools/crashed_process.h"
#include "tools/dump_events.h"
#include "tools/dump_folder.h"
#include "tools/elf_core.h"
#include "tools/slot_maker.h"

namespace dumpcrypt::cli {
namespace {

constexpr uint64_t kSpaceCheckEvery = 64 << 20;
constexpr int kPipeSize = 32 << 20;

struct HandlerFlags {
  std::string config = kDefaultHostConfig;
  std::string proc = "/proc";
  uint32_t pid = 0, uid = 0, gid = 0, signal = 0;
  int64_t time = 0;
  std::vector<std::string> comm;
};

std::string Fit(const std::string& text) {
  bool changed = false;
  return ToValidText(text, kMaxMetadataTextSize, &changed);
}

DumpMetadata MetadataFor(const CrashedProcess& p, const KeyRule& rule,
                         const std::string& host) {
  DumpMetadata m;
  m.type = rule.type;
  m.world = Fit(p.comm);
  m.created_unix = p.time_unix;
  m.host = Fit(host);
  m.vm_name = Fit(rule.vm);
  m.original_name = Fit(absl::StrCat("core.", p.comm, ".", p.ids.pid));
  m.process = p.ids;
  m.executable = Fit(p.executable);
  m.command_line = Fit(p.command_line);
  m.cgroup = Fit(p.cgroup);
  m.unit = Fit(p.unit);
  return m;
}

// Handler seals one core from stdin. Every way out records an event.
class Handler {
 public:
  Handler(const HostConfig& config, KeyRule rule, DumpEvent event)
      : config_(config), rule_(std::move(rule)), event_(std::move(event)) {}

  int Run() {
    if (::mkdir(config_.folder.c_str(), 0700) != 0 && errno != EEXIST) {
      return Drop(kEventFailed, ErrnoStatus(errno, config_.folder).message());
    }
    if (config_.rate_limit != 0) {
      auto dumps = ListSealedDumps(config_.folder);
      const absl::Time since = absl::Now() - config_.rate_interval;
      size_t recent = 0;
      for (const SealedDump& d :
           dumps.ok() ? *dumps : std::vector<SealedDump>{}) {
        recent += d.mtime >= since;
      }
      if (recent >= config_.rate_limit) {
        return Drop(kEventRateLimited,
                    absl::StrCat(recent, " dumps in the last ",
                                 absl::FormatDuration(config_.rate_interval),
                                 " (rate_limit ", config_.rate_limit, ")"));
      }
    }
    for (const std::string& path : Vacuum(config_)) {
      std::fprintf(stderr, "dumpcrypt core-handler: removed %s for space\n",
                   path.c_str());
    }
    if (auto free = FreeBytes(config_.folder);
        free.ok() && config_.keep_free != 0 && *free < config_.keep_free) {
      return Drop(kEventNoSpace,
                  absl::StrCat("only ", *free, " bytes free, ", "keep_free is ",
                               config_.keep_free));
    }
    absl::StatusOr<SlotMaker> maker = Slots();
    if (!maker.ok()) return Drop(kEventNoKey, maker.status().message());
    return Seal(*maker);
  }

 private:
  // Slots makes the policy key's slot, or the recipients' when no key can
  // be had and the policy says so.
  absl::StatusOr<SlotMaker> Slots() {
    std::vector<std::string> notes;
    NewSlotFlags flags;
    flags.provider = event_.key.provider;
    flags.key_ids = {event_.key.key_id};
    absl::Status why;
    auto sources = OpenKeySources(config_, /*use_keyring=*/true, &notes);
    if (sources.ok()) {
      resolver_ = std::move(sources).value();
      auto maker = SlotMaker::Create(flags, resolver_.get());
      if (maker.ok()) return maker;
      why = maker.status();
    } else {
      why = sources.status();
    }
    if (sources.ok() && !notes.empty()) {
      // Say also which sources could not be asked.
      why = absl::Status(why.code(),
                         absl::StrCat(why.message(), " (and ",
                                      absl::StrJoin(notes, "; "), ")"));
    }
    if (config_.on_no_key != NoKeyAction::kRecipient) return why;
    NewSlotFlags to_recipients;
    to_recipients.recipients = config_.recipients;
    auto maker = SlotMaker::Create(to_recipients, nullptr);
    if (!maker.ok()) {
      return absl::Status(why.code(),
                          absl::StrCat(why.message(), "; and the recipients: ",
                                       maker.status().message()));
    }
    event_.reason = std::string(why.message());
    event_.event = kEventSealedToRecipient;
    return maker;
  }

  int Seal(const SlotMaker& maker) {
    char host[256] = {};
    ::gethostname(host, sizeof(host) - 1);
    event_.host = host;
    SealOptions options;
    options.metadata = MetadataFor(event_.process, rule_, host);
    const std::string out = config_.folder + "/" + DumpFileName(event_.process);
    auto writer = EnvelopeWriter::Create(
        out, [&](const SecretBytes& dk) { return maker.Make(dk); }, options);
    if (!writer.ok())
      return Drop(kEventFailed, Prefix(writer.status(), out).message());
    ElfCoreCheck elf;
    std::vector<uint8_t> buf(1 << 20);
    uint64_t next_check = kSpaceCheckEvery;
    bool cut = false;
    for (;;) {
      auto got = ReadFull(STDIN_FILENO, absl::MakeSpan(buf));
      if (!got.ok()) return Drop(kEventFailed, got.status().message());
      if (*got == 0) break;
      size_t take = *got;
      if (config_.max_size != 0 &&
          (*writer)->bytes_in() + take > config_.max_size) {
        take = config_.max_size - (*writer)->bytes_in();
        cut = true;
      }
      const absl::Span<const uint8_t> piece(buf.data(), take);
      elf.Feed(piece);
      absl::Status status = (*writer)->Write(piece);
      if (!status.ok()) return DropWrite(status);
      if ((*writer)->bytes_in() >= next_check) {
        next_check += kSpaceCheckEvery;
        auto free = FreeBytes(config_.folder);
        if (free.ok() && config_.keep_free != 0 && *free < config_.keep_free) {
          return Drop(kEventNoSpace,
                      absl::StrCat("free space fell below keep_free (",
                                   config_.keep_free, " bytes) after ",
                                   (*writer)->bytes_in(), " bytes"));
        }
      }
      if (cut) break;
    }
    event_.size = (*writer)->bytes_in();
    std::string short_by;
    if (cut) {
      short_by = absl::StrCat("cut at max_size (", config_.max_size, " bytes)");
    } else if (elf.Truncated()) {
      short_by = absl::StrCat("the core is truncated: ", elf.fed(),
                              " bytes of ", *elf.NeededSize());
    }
    if (!short_by.empty()) {
      event_.reason = event_.reason.empty()
                          ? short_by
                          : absl::StrCat(event_.reason, "; ", short_by);
    }
    if (cut || elf.Truncated()) (*writer)->MarkTruncated();
    absl::Status status = (*writer)->Finish();
    if (!status.ok()) return DropWrite(status);
    event_.file = out;
    if (!short_by.empty() && event_.event == kEventSealed) {
      event_.event = kEventTruncated;
    }
    Record();
    return event_.event == kEventSealed ? kExitOk : kExitError;
  }

  int DropWrite(const absl::Status& status) {
    return Drop(
        absl::IsResourceExhausted(status) ? kEventNoSpace : kEventFailed,
        status.message());
  }

  int Drop(const char* event, absl::string_view reason) {
    event_.event = event;
    event_.reason = std::string(reason);
    event_.file.clear();
    Record();
    return event_.event == kEventNoKey ? kExitNoKey : kExitError;
  }

  void Record() {
    std::fprintf(stderr, "dumpcrypt core-handler: %s: %s\n",
                 event_.event.c_str(), event_.reason.c_str());
    absl::Status s = RecordEvent(config_.events, event_);
    if (!s.ok()) {
      std::fprintf(stderr, "dumpcrypt core-handler: events file: %s\n",
                   std::string(s.message()).c_str());
    }
  }

  const HostConfig& config_;
  const KeyRule rule_;
  DumpEvent event_;
  std::unique_ptr<KeyResolver> resolver_;
};

int RunCoreHandler(const HandlerFlags& f) {
  CrashedProcess p;
  p.ids = {f.pid, f.uid, f.gid, f.signal};
  p.time_unix = f.time;
  p.comm = absl::StrJoin(f.comm, " ");
  // Before the pipe grows: while the kernel waits for room in it, the
  // crashing process is still there to be read (with kernel.core_pipe_limit
  // 0 nothing else holds it once its core is in the pipe).
  ReadCrashedProcess(f.proc, &p);
  // A deep pipe lets the kernel go on writing the core while a piece is
  // sealed, so the crashing process is held for less time. Best effort:
  // above fs.pipe-max-size only root may.
  for (int size = kPipeSize; size >= (1 << 20); size /= 2) {
    if (::fcntl(STDIN_FILENO, F_SETPIPE_SZ, size) >= 0) break;
  }
  DumpEvent event;
  event.event = kEventSealed;
  event.process = p;
  absl::StatusOr<HostConfig> config = LoadHostConfig(f.config);
  if (!config.ok()) {
    // No events file is known: the journal (or syslog) still hears of it.
    event.event = kEventFailed;
    event.reason = std::string(config.status().message());
    RecordEvent("", event).IgnoreError();
    return Fail("core-handler", config.status());
  }
  const KeyRule rule = config->Choose(p);
  event.rule = rule.name;
  event.key = rule.key;
  event.type = rule.type;
  return Handler(*config, rule, std::move(event)).Run();
}

}  // namespace

void AddCoreHandlerCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<HandlerFlags>();
  CLI::App* c = app.add_subcommand(
      "core-handler",
      "seal a core from the kernel's core_pattern pipe, as it is read, into "
      "the configured folder under the key the host's policy picks; record "
      "an event for it. Install with:\n"
      "  echo '|/usr/bin/dumpcrypt core-handler %P %u %g %s %t %e' > "
      "/proc/sys/kernel/core_pattern");
  c->add_option("--config", f->config, "host configuration (TOML)")
      ->capture_default_str();
  c->add_option("--proc", f->proc, "where /proc is (for tests)")
      ->capture_default_str()
      ->group("");
  c->add_option("PID", f->pid, "%P: pid in the initial PID namespace")
      ->required();
  c->add_option("UID", f->uid, "%u: real uid")->required();
  c->add_option("GID", f->gid, "%g: real gid")->required();
  c->add_option("SIGNAL", f->signal, "%s: the signal that caused the dump")
      ->required();
  c->add_option("TIME", f->time, "%t: time of the dump, Unix seconds")
      ->required();
  c->add_option("COMM", f->comm, "%e: the executable's name")->required();
  c->callback([f, exit_code] { *exit_code = RunCoreHandler(*f); });
}

}  // namespace dumpcrypt::cli
