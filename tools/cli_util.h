// Shared pieces of the dumpcrypt command line: exit codes, error reports,
// key-source flags, a progress bar and signal-time cleanup.
#ifndef DUMPCRYPT_TOOLS_CLI_UTIL_H_
#define DUMPCRYPT_TOOLS_CLI_UTIL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "envelope/envelope.h"
#include "envelope/key_resolver.h"
#include "nlohmann/json_fwd.hpp"

namespace dumpcrypt::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,
  kExitUsage = 2,
  kExitNoKey = 3,
  kExitIntegrity = 4,
};

// Fail prints "dumpcrypt <command>: <message>" to stderr and returns the
// exit code for `status`: 4 for DATA_LOSS, `key_phase` ? 3 : 1 otherwise.
int Fail(const std::string& command, const absl::Status& status,
         bool key_phase = false);

// FailByCause prints as Fail does and returns the exit status of the
// status's cause: 4 DATA_LOSS (damaged), 3 UNAUTHENTICATED or UNAVAILABLE
// (no key, or its source out of reach), else 1.
int FailByCause(const std::string& command, const absl::Status& status);

// UsageError prints as Fail does and returns 2, the usage exit status.
int UsageError(const std::string& command, const absl::Status& status);

// KeySourceFlags are the flags that name where keys come from.
struct KeySourceFlags {
  std::string keystore;
  std::string kms;
  std::string vmware_keystore;
  std::string key_hex;
  std::string password_file;
  std::vector<std::string> identities;

  // given is true if any source is named.
  bool given() const {
    return !keystore.empty() || !kms.empty() || !vmware_keystore.empty() ||
           !key_hex.empty() || !password_file.empty() || !identities.empty();
  }
  // Add registers the flags on `cmd`; `required` makes one source
  // mandatory; !`password` leaves out --password-file (for a command whose
  // --password-file means another thing).
  void Add(CLI::App* cmd, bool required = true, bool password = true);
  // MakeResolver opens the named sources (both: the key store first).
  // FAILED_PRECONDITION if none is given. Warnings go to stderr.
  absl::StatusOr<std::unique_ptr<KeyResolver>> MakeResolver() const;
};

// VeFlags are the options for envelopes whose tag covers the whole file
// (VMware .ve) or that may start past byte 0.
struct VeFlags {
  std::vector<std::string> contexts;  // tried before the known ones
  std::optional<uint64_t> offset;  // else the magic is looked for at 0 and 4096

  void Add(CLI::App* cmd);
  ProbeOptions Probe() const {
    ProbeOptions options;
    options.offset = offset;
    return options;
  }
};

// ProbeFile opens `path` (which must be a regular file) and probes it.
// INVALID_ARGUMENT if it is no envelope; DATA_LOSS (or UNIMPLEMENTED) if it
// is a damaged one. Messages do not name `path`: callers do.
absl::StatusOr<std::shared_ptr<const Envelope>> ProbeFile(
    const std::string& path, const ProbeOptions& options);

// OpenEnvelope opens `path` as whatever envelope it is, with keys from
// `keys`; `check_file_tag` checks a whole-file tag at open (and requires it
// to verify). On failure it reports, sets *exit_code (FailByCause's) and
// returns nullptr.
std::unique_ptr<EnvelopeView> OpenEnvelope(const std::string& command,
                                           const std::string& path,
                                           KeyResolver& keys, const VeFlags& ve,
                                           bool check_file_tag, int* exit_code);

// NotRead is told of each path that could not be read, with its cause.
using NotRead = std::function<void(const std::string&, const absl::Status&)>;
// FileVisitor is given a regular file and whether it was named itself (not
// found in a folder).
using FileVisitor = std::function<void(const std::string&, bool named)>;

// ForEachFile visits each of `paths` that is a regular file, and each
// regular file under those that are folders, recursively in name order
// (symlinks inside folders are not followed, as in the mount); `fail` is
// told of each path or folder it cannot read, and the walk goes on.
void ForEachFile(const std::vector<std::string>& paths, const FileVisitor& file,
                 const NotRead& fail);

// WorseExit is the exit status that says more of the two: 4 (damage) over 3
// (keys) over 1 (other errors) over 0.
int WorseExit(int a, int b);

// ParseKeyHex decodes 64 hex digits (or, for "-", a line from stdin)
// straight into locked memory. INVALID_ARGUMENT otherwise.
absl::StatusOr<SecretBytes> ParseKeyHex(const std::string& arg);

// Progress draws "label  42%  1.2 GiB / 2.9 GiB  850 MB/s" on stderr when it
// is a terminal and the job is over 4 MiB (or of unknown size).
class Progress {
 public:
  Progress(std::string label, uint64_t total);
  ~Progress();
  void Update(uint64_t done);

 private:
  const std::string label_;
  const uint64_t total_;
  const bool tty_;
  const absl::Time start_;
  absl::Time last_;
  bool drawn_ = false;
};

// CleanupOnSignal removes `path` if SIGINT, SIGTERM or SIGHUP arrives while
// it lives, then lets the signal take its usual effect.
class CleanupOnSignal {
 public:
  explicit CleanupOnSignal(const std::string& path);
  ~CleanupOnSignal();
};

// ByteOffset checks an option is a whole number of bytes (no sign).
CLI::Validator ByteOffset();

// AFile refuses "-" for an envelope argument: envelopes are read at random
// offsets, so they must be files, not stdin.
CLI::Validator AFile();

// PrintJson prints `j` to stdout, indented, with a newline. Bytes that are
// not UTF-8 (in a file name or a .ve attribute) are printed as U+FFFD, so the
// output is always valid JSON.
void PrintJson(const nlohmann::json& j);

}  // namespace dumpcrypt::cli

#endif  // DUMPCRYPT_TOOLS_CLI_UTIL_H_
