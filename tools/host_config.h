// The host configuration of the crash-time side (TOML): where sealed dumps
// go, the limits that protect the disk, where keys come from, and the key
// policy — which key seals which process's dump.
#ifndef DUMPCRYPT_TOOLS_HOST_CONFIG_H_
#define DUMPCRYPT_TOOLS_HOST_CONFIG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "envelope/envelope_format.h"
#include "envelope/key_resolver.h"

namespace dumpcrypt::cli {

inline constexpr char kDefaultHostConfig[] = "/etc/dumpcrypt/host.toml";

// CrashedProcess is what the handler knows of the process that dumped.
struct CrashedProcess {
  ProcessIds ids;
  int64_t time_unix = 0;
  std::string comm;  // the kernel's %e: the executable's name, maybe cut
  std::string executable;
  std::string command_line;
  std::string cgroup;
  std::string unit;
};

// A KeyRule maps processes to a key. Each non-empty pattern is a shell
// pattern (fnmatch, '*' also matching '/') that must match; a rule with
// none matches every process.
struct KeyRule {
  std::string name;
  std::string cgroup, unit, executable;  // patterns
  KeyRef key;
  DumpType type = DumpType::kUserworld;
  std::string vm;  // VM name recorded in the dump

  bool Matches(const CrashedProcess& p) const;
};

enum class KeyMode { kPerVm, kHostKey };
enum class NoKeyAction { kDrop, kRecipient };

struct HostConfig {
  std::string path;                    // the file it was read from
  std::string folder;                  // where sealed dumps go
  std::string events;                  // JSON lines file; empty: none
  std::string keystore, kms, keyring;  // key sources (paths absolute)
  absl::Duration kms_deadline = absl::Seconds(3);
  absl::Duration key_lifetime = absl::Hours(24);  // keycache load
  KeyRef host_key;
  KeyMode mode = KeyMode::kPerVm;
  NoKeyAction on_no_key = NoKeyAction::kDrop;
  std::vector<std::string> recipients;  // public key files
  std::vector<KeyRule> rules;
  uint64_t max_use = 0;     // bytes of dumps the folder may hold; 0: no cap
  uint64_t keep_free = 0;   // bytes to leave free on its file system
  uint64_t max_size = 0;    // bytes of one dump; 0: no cap
  uint32_t rate_limit = 0;  // dumps per rate_interval; 0: no limit
  absl::Duration rate_interval = absl::Minutes(1);

  // Choose returns the rule whose key seals `p`'s dump: the first rule that
  // matches, else (and always in host-key mode) the host key's, named
  // "host-key".
  KeyRule Choose(const CrashedProcess& p) const;
  // Keys returns every key the policy may use, each once: the host key's
  // first.
  std::vector<KeyRef> Keys() const;
};

// LoadHostConfig reads `path` (every key: docs/host.toml.example).
// INVALID_ARGUMENT naming the file, line and key of the first error, including
// unknown keys.
absl::StatusOr<HostConfig> LoadHostConfig(const std::string& path);

// OpenKeySources opens the configured key sources as one chain: the kernel
// key cache first (when `use_keyring` and it is loaded), then the key
// store, then the KMS with its timeouts cut to kms_deadline. Sources that
// cannot be opened are left out, each noted in *`notes`; FAILED_PRECONDITION
// if none is left.
absl::StatusOr<std::unique_ptr<KeyResolver>> OpenKeySources(
    const HostConfig& config, bool use_keyring,
    std::vector<std::string>* notes);

// ParseByteSize reads "123", "512K", "64M", "10G" or "2T" (powers of 1024).
absl::StatusOr<uint64_t> ParseByteSize(const std::string& text);

}  // namespace dumpcrypt::cli

#endif  // DUMPCRYPT_TOOLS_HOST_CONFIG_H_
