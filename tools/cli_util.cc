#include "tools/cli_util.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "base/bytes.h"
#include "base/file_io.h"
#include "base/status_macros.h"
#include "envelope/envelope_opener.h"
#include "kms/held_secrets.h"
#include "kms/kms_config.h"
#include "kms/local_keystore.h"
#include "kms/vmware_keystore.h"
#include "nlohmann/json.hpp"

namespace dumpcrypt::cli {
namespace {

char g_cleanup_path[PATH_MAX];

void CleanupHandler(int sig) {
  if (g_cleanup_path[0] != '\0') ::unlink(g_cleanup_path);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

int Fail(const std::string& command, const absl::Status& status,
         bool key_phase) {
  std::fprintf(stderr, "dumpcrypt %s: %s\n", command.c_str(),
               std::string(status.message()).c_str());
  if (status.code() == absl::StatusCode::kDataLoss) return kExitIntegrity;
  return key_phase ? kExitNoKey : kExitError;
}

int FailByCause(const std::string& command, const absl::Status& status) {
  const bool key =
      absl::IsUnauthenticated(status) || absl::IsUnavailable(status);
  return Fail(command, status, key);
}

int UsageError(const std::string& command, const absl::Status& status) {
  Fail(command, status);
  return kExitUsage;
}

void KeySourceFlags::Add(CLI::App* cmd, bool required, bool password) {
  const char* group =
      required ? "Key source (one or more; asked in this order)" : "Key source";
  cmd->add_option("--key-hex", key_hex,
                  "the key itself: 64 hex digits, or - for stdin")
      ->group(group);
  cmd->add_option("--keystore", keystore, "local key store file (mode 0600)")
      ->group(group);
  cmd->add_option("--vmware-keystore", vmware_keystore,
                  "ESXi encryption.info host key store (mode NONE), for VMware "
                  ".ve files")
      ->group(group);
  cmd->add_option("--kms", kms,
                  "KMS configuration (TOML) of KMIP key providers")
      ->group(group);
  if (password) {
    cmd->add_option("--password-file", password_file,
                    "a file (mode 0600) whose first line is the password of "
                    "password slots (support bundles)")
        ->group(group);
  }
  cmd->add_option("--identity", identities,
                  "a private key PEM file (mode 0600, from dumpcrypt keygen) "
                  "for recipient slots; may be repeated")
      ->group(group);
}

absl::StatusOr<std::unique_ptr<KeyResolver>> KeySourceFlags::MakeResolver()
    const {
  if (!given()) {
    return absl::FailedPreconditionError(
        "no key source: give --keystore PATH, --kms CONFIG, --vmware-keystore "
        "FILE, --key-hex HEX, --password-file FILE or --identity KEY.pem");
  }
  std::vector<std::unique_ptr<KeyResolver>> sources;
  if (!key_hex.empty()) {
    DC_ASSIGN_OR_RETURN(SecretBytes key, ParseKeyHex(key_hex));
    sources.push_back(std::make_unique<FixedKeyResolver>(std::move(key)));
  }
  if (!keystore.empty()) {
    DC_ASSIGN_OR_RETURN(auto store, LocalKeyStore::Open(keystore));
    sources.push_back(std::move(store));
  }
  if (!vmware_keystore.empty()) {
    DC_ASSIGN_OR_RETURN(auto store, VmwareKeyStore::Open(vmware_keystore));
    sources.push_back(std::move(store));
  }
  if (!kms.empty()) {
    DC_ASSIGN_OR_RETURN(KmsConfig config, LoadKmsConfig(kms));
    DC_ASSIGN_OR_RETURN(
        auto resolver, KmsResolver::Create(config, [](const std::string& w) {
          std::fprintf(stderr, "dumpcrypt: warning: %s\n", w.c_str());
        }));
    sources.push_back(std::move(resolver));
  }
  DC_RETURN_IF_ERROR(AddHeldSecrets(password_file, identities, &sources));
  if (sources.size() == 1) return std::move(sources.front());
  return std::unique_ptr<KeyResolver>(new ChainResolver(std::move(sources)));
}

// ParseKeyHex decodes 64 hex digits (or, for "-", a line read from stdin)
// straight into locked memory.
absl::StatusOr<SecretBytes> ParseKeyHex(const std::string& arg) {
  SecretBytes text(128);
  size_t n = 0;
  if (arg == "-") {
    auto got = ReadFull(STDIN_FILENO, text.mutable_span());
    if (!got.ok()) return got.status();
    n = *got;
    while (n > 0 && (text.data()[n - 1] == '\n' || text.data()[n - 1] == '\r'))
      --n;
  } else {
    n = std::min(arg.size(), text.size());
    std::copy(arg.begin(), arg.begin() + n, text.data());
  }
  if (n != 64) {
    return absl::InvalidArgumentError(
        "--key-hex must be 64 hex digits (32 bytes)");
  }
  SecretBytes key(32);
  if (!HexDecode(
          absl::string_view(reinterpret_cast<const char*>(text.data()), n),
          key.mutable_span())) {
    return absl::InvalidArgumentError("--key-hex is not hex");
  }
  return key;
}

int WorseExit(int a, int b) {
  auto rank = [](int code) {
    return code == kExitIntegrity ? 3 : code == kExitNoKey ? 2 : code != 0;
  };
  return rank(a) >= rank(b) ? a : b;
}

void VeFlags::Add(CLI::App* cmd) {
  cmd->add_option("--context", contexts,
                  "VMware .ve: a GCM associated-data context string to try "
                  "first (repeatable)");
  cmd->add_option("--offset", offset,
                  "VMware .ve: where the envelope starts (default: 0 or 4096)")
      ->check(ByteOffset());
}

absl::StatusOr<std::shared_ptr<const Envelope>> ProbeFile(
    const std::string& path, const ProbeOptions& options) {
  DC_ASSIGN_OR_RETURN(UniqueFd fd, OpenReadOnly(path, O_NONBLOCK));
  DC_RETURN_IF_ERROR(RequireRegularFile(fd.get()));
  DC_ASSIGN_OR_RETURN(Probed probed, ProbeEnvelope(fd.get(), options));
  if (probed.is_damaged()) return probed.damage;
  if (!probed.is_envelope()) return NotAnEnvelopeError();
  return probed.envelope;
}

std::unique_ptr<EnvelopeView> OpenEnvelope(const std::string& command,
                                           const std::string& path,
                                           KeyResolver& keys, const VeFlags& ve,
                                           bool check_file_tag,
                                           int* exit_code) {
  const OpenPolicy policy{ve.contexts, check_file_tag, true};
  absl::StatusOr<std::unique_ptr<EnvelopeView>> view =
      OpenEnvelopeFile(path, keys, policy, ve.Probe());
  if (!view.ok()) {
    *exit_code = FailByCause(command, view.status());
    return nullptr;
  }
  return *std::move(view);
}

Progress::Progress(std::string label, uint64_t total)
    : label_(std::move(label)),
      total_(total),
      tty_(::isatty(STDERR_FILENO) == 1),
      start_(absl::Now()),
      last_(absl::InfinitePast()) {}

Progress::~Progress() {
  if (drawn_) std::fputc('\n', stderr);
}

void Progress::Update(uint64_t done) {
  constexpr uint64_t kMinimum = 4 << 20;
  if (!tty_ || (total_ != 0 && total_ <= kMinimum) || done < kMinimum) return;
  const absl::Time now = absl::Now();
  if (now - last_ < absl::Milliseconds(100) && done != total_) return;
  last_ = now;
  const double seconds = absl::ToDoubleSeconds(now - start_);
  const double rate = seconds > 0 ? done / seconds / 1e6 : 0;
  if (total_ != 0) {
    std::fprintf(stderr, "\r%s %3d%%  %s / %s  %.0f MB/s   ", label_.c_str(),
                 static_cast<int>(done * 100 / total_),
                 HumanBytes(done).c_str(), HumanBytes(total_).c_str(), rate);
  } else {
    std::fprintf(stderr, "\r%s  %s  %.0f MB/s   ", label_.c_str(),
                 HumanBytes(done).c_str(), rate);
  }
  drawn_ = true;
}

CleanupOnSignal::CleanupOnSignal(const std::string& path) {
  std::snprintf(g_cleanup_path, sizeof(g_cleanup_path), "%s", path.c_str());
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::signal(sig, CleanupHandler);
}

CleanupOnSignal::~CleanupOnSignal() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::signal(sig, SIG_DFL);
  g_cleanup_path[0] = '\0';
}

CLI::Validator ByteOffset() {
  return CLI::Validator(
      [](const std::string& s) -> std::string {
        uint64_t v = 0;
        return absl::SimpleAtoi(s, &v) ? "" : "must be a number of bytes";
      },
      "BYTES");
}

CLI::Validator AFile() {
  return CLI::Validator(
      [](const std::string& s) -> std::string {
        if (s == "-") return "an envelope is read from a file, not from stdin";
        struct stat st;
        if (::stat(s.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
          return s +
                 " is a folder: name its files, or list the dumps under "
                 "it with `dumpcrypt keys`";
        }
        return "";
      },
      "FILE");
}

void PrintJson(const nlohmann::json& j) {
  std::printf(
      "%s\n",
      j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

namespace {

absl::Status FromErrorCode(const std::error_code& ec) {
  return absl::UnknownError(ec.message());
}

void Walk(const std::filesystem::path& dir, const FileVisitor& file,
          const NotRead& fail) {
  std::vector<std::filesystem::directory_entry> entries;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    entries.push_back(*it);
  }
  if (ec) return fail(dir.string(), FromErrorCode(ec));
  std::sort(entries.begin(), entries.end());
  for (const auto& entry : entries) {
    const std::filesystem::file_type type = entry.symlink_status(ec).type();
    if (type == std::filesystem::file_type::regular) {
      file(entry.path().string(), false);
    } else if (type == std::filesystem::file_type::directory) {
      Walk(entry.path(), file, fail);
    }
  }
}

}  // namespace

void ForEachFile(const std::vector<std::string>& paths, const FileVisitor& file,
                 const NotRead& fail) {
  for (const std::string& path : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      Walk(path, file, fail);
    } else if (std::filesystem::is_regular_file(path, ec)) {
      file(path, true);
    } else {
      fail(path,
           ec ? FromErrorCode(ec)
              : absl::InvalidArgumentError("neither a folder nor a file"));
    }
  }
}

}  // namespace dumpcrypt::cli
