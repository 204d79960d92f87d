#include "kms/kernel_key_cache.h"

#include <keyutils.h>

#include <cerrno>
#include <cstdlib>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "base/file_io.h"
#include "base/status_macros.h"

namespace dumpcrypt {
namespace {

constexpr absl::string_view kPrefix = "dumpcrypt:";
constexpr key_perm_t kPossessorOnly = KEY_POS_VIEW | KEY_POS_READ |
                                      KEY_POS_WRITE | KEY_POS_SEARCH |
                                      KEY_POS_LINK | KEY_POS_SETATTR;

absl::Status KeyringError(int err, absl::string_view what) {
  if (err == ENOSYS || err == EOPNOTSUPP) {
    return absl::UnimplementedError(
        absl::StrCat(what, ": this kernel has no keyrings"));
  }
  return ErrnoStatus(err, what);
}

// Expiries maps each key serial (hex, as /proc/keys writes it) to the
// expiry column /proc/keys shows for it.
std::map<std::string, std::string> Expiries() {
  std::map<std::string, std::string> out;
  auto body = ReadRegularFile("/proc/keys", 1 << 22);
  if (!body.ok()) return out;
  for (absl::string_view line : absl::StrSplit(*body, '\n')) {
    std::vector<absl::string_view> f =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() > 3) out[std::string(f[0])] = std::string(f[3]);
  }
  return out;
}

}  // namespace

std::string KernelKeyCache::Description(const KeyRef& ref) {
  return absl::StrCat(
      kPrefix, absl::StrReplaceAll(ref.provider, {{"%", "%25"}, {":", "%3A"}}),
      ":", ref.key_id);
}

absl::StatusOr<std::unique_ptr<KernelKeyCache>> KernelKeyCache::Open(
    const std::string& name, bool create) {
  long found = keyctl_search(KEY_SPEC_USER_KEYRING, "keyring", name.c_str(), 0);
  if (found < 0 && errno != ENOKEY) {
    return KeyringError(errno, absl::StrCat("keyring '", name, "'"));
  }
  if (found < 0) {
    if (!create) {
      return absl::NotFoundError(
          absl::StrCat("no key cache: keyring '", name,
                       "' is not in this user's keyring (load it with "
                       "`dumpcrypt keycache load`)"));
    }
    key_serial_t made =
        add_key("keyring", name.c_str(), nullptr, 0, KEY_SPEC_USER_KEYRING);
    if (made < 0) {
      return KeyringError(errno, absl::StrCat("keyring '", name, "'"));
    }
    if (keyctl_setperm(made, kPossessorOnly) < 0) {
      return KeyringError(errno, absl::StrCat("keyring '", name, "'"));
    }
    found = made;
  }
  return std::unique_ptr<KernelKeyCache>(
      new KernelKeyCache(name, static_cast<int32_t>(found)));
}

absl::Status KernelKeyCache::Put(const KeyRef& ref, const SecretBytes& kek,
                                 absl::Duration lifetime) {
  const int64_t seconds = absl::ToInt64Seconds(lifetime);
  if (seconds < 1 || seconds > UINT32_MAX) {
    return absl::InvalidArgumentError("key lifetime must be 1 s to 136 years");
  }
  const std::string desc = Description(ref);
  key_serial_t key =
      add_key("user", desc.c_str(), kek.data(), kek.size(), keyring_);
  if (key < 0) return KeyringError(errno, desc);
  if (keyctl_setperm(key, kPossessorOnly) < 0 ||
      keyctl_set_timeout(key, static_cast<unsigned>(seconds)) < 0) {
    const int err = errno;
    keyctl_revoke(key);
    return KeyringError(err, desc);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<KernelKeyCache::Entry>> KernelKeyCache::List()
    const {
  void* raw = nullptr;
  const long n = keyctl_read_alloc(keyring_, &raw);
  if (n < 0) return KeyringError(errno, absl::StrCat("keyring '", name_, "'"));
  std::unique_ptr<void, decltype(&std::free)> ids(raw, &std::free);
  std::vector<Entry> out;
  const std::map<std::string, std::string> expiries = Expiries();
  const auto* serials = static_cast<const key_serial_t*>(raw);
  for (long i = 0; i < n / static_cast<long>(sizeof(key_serial_t)); ++i) {
    char* described = nullptr;
    if (keyctl_describe_alloc(serials[i], &described) < 0) continue;
    std::unique_ptr<char, decltype(&std::free)> d(described, &std::free);
    // "type;uid;gid;perm;description"
    std::vector<std::string> f =
        absl::StrSplit(described, absl::MaxSplits(';', 4));
    if (f.size() != 5 || f[0] != "user" || !absl::StartsWith(f[4], kPrefix)) {
      continue;
    }
    std::vector<std::string> parts =
        absl::StrSplit(absl::string_view(f[4]).substr(kPrefix.size()),
                       absl::MaxSplits(':', 1));
    if (parts.size() != 2) continue;
    Entry e;
    e.ref.provider =
        absl::StrReplaceAll(parts[0], {{"%3A", ":"}, {"%25", "%"}});
    e.ref.key_id = parts[1];
    e.serial = serials[i];
    auto expiry =
        expiries.find(absl::StrCat(absl::Hex(serials[i], absl::kZeroPad8)));
    e.expires = expiry == expiries.end() ? "?" : expiry->second;
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<int> KernelKeyCache::Flush() {
  DC_ASSIGN_OR_RETURN(std::vector<Entry> entries, List());
  int revoked = 0;
  for (const Entry& e : entries) {
    if (keyctl_revoke(e.serial) == 0) ++revoked;
  }
  if (keyctl_clear(keyring_) < 0) {
    return KeyringError(errno, absl::StrCat("keyring '", name_, "'"));
  }
  return revoked;
}

absl::StatusOr<SecretBytes> KernelKeyCache::Resolve(const KeyRef& ref) {
  const std::string desc = Description(ref);
  const long key = keyctl_search(keyring_, "user", desc.c_str(), 0);
  if (key < 0) {
    switch (errno) {
      case ENOKEY:
        return absl::NotFoundError("not in the kernel key cache");
      case EKEYEXPIRED:
        return absl::NotFoundError("expired in the kernel key cache");
      case EKEYREVOKED:
        return absl::NotFoundError("revoked in the kernel key cache");
      default:
        return KeyringError(errno, "kernel key cache");
    }
  }
  SecretBytes kek(32);
  const long n = keyctl_read(static_cast<key_serial_t>(key),
                             reinterpret_cast<char*>(kek.data()), kek.size());
  if (n < 0) return KeyringError(errno, "kernel key cache");
  if (n != 32) {
    return absl::DataLossError(absl::StrCat("the kernel key cache holds ", n,
                                            " bytes for it, not 32"));
  }
  return kek;
}

std::string KernelKeyCache::Describe() const {
  return absl::StrCat("kernel key cache (keyring '", name_, "')");
}

}  // namespace dumpcrypt
