// dumpcrypt seal: encrypt a dump (a file or stdin) into an envelope.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/file_io.h"
#include "base/status_macros.h"
#include "base/utf8.h"
#include "envelope/envelope_opener.h"
#include "envelope/envelope_writer.h"
#include "tools/cli_util.h"
#include "tools/commands.h"
#include "tools/elf_core.h"
#include "tools/slot_maker.h"

namespace dumpcrypt::cli {
namespace {

struct SealFlags {
  KeySourceFlags keys;
  NewSlotFlags slots;
  std::string type = "other";
  std::string world, host, vm, vm_uuid, name;
  uint32_t sector_size = kDefaultSectorSize;
  uint32_t prefix_bytes = 0;
  bool no_integrity = false;
  bool force = false;
  std::string input, output;
};

int RunSeal(const SealFlags& f) {
  const std::string cmd = "seal";
  auto type = ParseDumpType(f.type);
  if (!type.ok()) return UsageError(cmd, type.status());
  if (f.slots.empty()) {
    return UsageError(cmd, absl::InvalidArgumentError(
                               "give --key-id, --recipient or "
                               "--add-password-file: what may open the dump"));
  }
  for (const std::string& id : f.slots.key_ids) {
    absl::Status valid = ValidateKeyRef({f.slots.provider, id});
    if (!valid.ok()) return UsageError(cmd, valid);
  }
  if (f.input == "-" && ::isatty(STDIN_FILENO) == 1) {
    return UsageError(
        cmd, absl::InvalidArgumentError(
                 "not reading a dump from a terminal: give an INPUT file, or "
                 "redirect or pipe stdin"));
  }
  std::unique_ptr<KeyResolver> resolver;
  if (!f.slots.key_ids.empty()) {
    auto made = f.keys.MakeResolver();
    if (!made.ok()) return Fail(cmd, made.status(), true);
    resolver = std::move(made).value();
  }
  absl::StatusOr<SlotMaker> maker = SlotMaker::Create(f.slots, resolver.get());
  if (!maker.ok()) return FailByCause(cmd, maker.status());

  UniqueFd in;
  uint64_t total = 0;
  if (f.input == "-") {
    in = UniqueFd(::dup(STDIN_FILENO));
  } else {
    auto opened = OpenReadOnly(f.input);
    if (!opened.ok()) return Fail(cmd, Prefix(opened.status(), f.input));
    in = std::move(opened).value();
    struct stat st;
    if (::fstat(in.get(), &st) == 0 && S_ISREG(st.st_mode)) total = st.st_size;
  }

  SealOptions options;
  options.sector_size = f.sector_size;
  options.prefix_bytes = f.prefix_bytes;
  options.integrity = !f.no_integrity;
  options.overwrite = f.force;
  // A crash-time handler passes names as the kernel gives them: make them
  // fit rather than lose the dump.
  auto fit = [&cmd](const char* field, const std::string& value) {
    bool changed = false;
    std::string text = ToValidText(value, kMaxMetadataTextSize, &changed);
    if (changed) {
      std::fprintf(stderr,
                   "dumpcrypt %s: warning: %s: bytes that are not UTF-8 or "
                   "are control characters are stored as U+FFFD, and at most "
                   "%zu bytes\n",
                   cmd.c_str(), field, kMaxMetadataTextSize);
    }
    return text;
  };
  std::string host = f.host;
  if (host.empty()) {
    char name[256] = {};
    if (::gethostname(name, sizeof(name) - 1) == 0) host = name;
  }
  DumpMetadata& m = options.metadata;
  m.type = *type;
  m.world = fit("world", f.world);
  m.vm_name = fit("VM name", f.vm);
  m.vm_uuid = fit("VM uuid", f.vm_uuid);
  m.created_unix = absl::ToUnixSeconds(absl::Now());
  m.original_name = fit("original name", !f.name.empty()  ? f.name
                                         : f.input == "-" ? ""
                                                          : BaseName(f.input));
  m.host = fit("host", host);
  auto writer = EnvelopeWriter::Create(
      f.output, [&](const SecretBytes& dk) { return maker->Make(dk); },
      options);
  if (!writer.ok()) return Fail(cmd, Prefix(writer.status(), f.output));
  CleanupOnSignal cleanup((*writer)->temp_path());

  Progress progress("sealing", total);
  ElfCoreCheck elf;
  std::vector<uint8_t> buf(1 << 20);
  for (;;) {
    auto got = ReadFull(in.get(), absl::MakeSpan(buf));
    if (!got.ok()) return Fail(cmd, Prefix(got.status(), f.input));
    if (*got == 0) break;
    const absl::Span<const uint8_t> piece(buf.data(), *got);
    elf.Feed(piece);
    absl::Status status = (*writer)->Write(piece);
    if (!status.ok()) return Fail(cmd, Prefix(status, f.output));
    progress.Update((*writer)->bytes_in());
  }
  // A cut core is sealed all the same (it is all there is), but marked and
  // reported.
  if (elf.Truncated()) (*writer)->MarkTruncated();
  absl::Status status = (*writer)->Finish();
  if (!status.ok()) return Fail(cmd, Prefix(status, f.output));
  if ((*writer)->truncated()) {
    const std::string why =
        elf.Truncated() ? absl::StrCat("the ELF core is truncated: ", elf.fed(),
                                       " bytes of the ", *elf.NeededSize(),
                                       " its program headers name")
                        : "the makedumpfile flattened stream has no end record";
    return Fail(cmd, absl::DataLossError(absl::StrCat(
                         f.input == "-" ? "standard input" : f.input, ": ", why,
                         "; sealed to ", f.output, " and marked truncated")));
  }
  return kExitOk;
}

}  // namespace

void AddSealCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<SealFlags>();
  CLI::App* c = app.add_subcommand(
      "seal",
      "encrypt a dump into an envelope, streaming (INPUT may be - for stdin, "
      "as in a core_pattern pipe); the output appears only when complete");
  f->keys.Add(c, /*required=*/false);
  c->add_option("--key-id", f->slots.key_ids,
                "keyID of the key-encryption key (from the key sources); may "
                "be repeated for more slots")
      ->group("Slots (one or more)");
  c->add_option("--provider", f->slots.provider,
                "key provider name recorded with --key-id's slots")
      ->capture_default_str()
      ->group("Slots (one or more)");
  c->add_option("--recipient", f->slots.recipients,
                "a public key PEM (X25519 or RSA, from dumpcrypt keygen): its "
                "private key opens the dump, and this host holds no secret of "
                "it; may be repeated")
      ->group("Slots (one or more)");
  c->add_option("--add-password-file", f->slots.password_file,
                "a password slot, the password the first line of this file")
      ->group("Slots (one or more)");
  f->slots.AddPasswordCost(c);
  c->add_option("--type", f->type, "dump type: vmkernel, userworld, vm, other")
      ->capture_default_str();
  c->add_option("--world", f->world, "world or process name that dumped");
  c->add_option("--host", f->host, "host name (default: this host)");
  c->add_option("--vm", f->vm, "VM name, for a VM's dump");
  c->add_option("--vm-uuid", f->vm_uuid, "VM uuid, for a VM's dump");
  c->add_option("--name", f->name, "original file name (default: INPUT's)");
  c->add_option("--sector-size", f->sector_size,
                "bytes per encrypted sector, a power of two 512..65536")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](const std::string& s) -> std::string {
            uint32_t v = 0;
            return absl::SimpleAtoi(s, &v) && v >= 512 && v <= kMaxSectorSize &&
                           (v & (v - 1)) == 0
                       ? ""
                       : "must be a power of two 512..65536";
          },
          "POW2"));
  c->add_option("--prefix-bytes", f->prefix_bytes,
                "leading bytes kept in clear (authenticated), e.g. 4096 for "
                "an ESXi zdump header; at most 1 MiB")
      ->check(CLI::Range(uint32_t{0}, kMaxPrefixSize));
  c->add_flag("--no-integrity", f->no_integrity,
              "no per-sector tags (smaller; changed bytes go undetected)");
  c->add_flag("--force", f->force, "replace OUTPUT if it exists");
  c->add_option("INPUT", f->input, "dump to seal, or - for stdin")->required();
  c->add_option("OUTPUT", f->output, "envelope to write")->required();
  c->callback([f, exit_code] { *exit_code = RunSeal(*f); });
}

}  // namespace dumpcrypt::cli
