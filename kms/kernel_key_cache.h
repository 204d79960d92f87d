// KernelKeyCache: a host's key cache in the kernel keyring — key-encryption
// keys pushed there after boot (from the KMS or a key store), held in kernel
// memory only, so that a dump can be sealed at crash time without the KMS.
#ifndef DUMPCRYPT_KMS_KERNEL_KEY_CACHE_H_
#define DUMPCRYPT_KMS_KERNEL_KEY_CACHE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "envelope/key_resolver.h"

namespace dumpcrypt {

// The keys live in a keyring named `name` (default "dumpcrypt") linked from
// the caller's user keyring (root's, for the core handler), as "user" keys
// described "dumpcrypt:PROVIDER:KEYID" (':' and '%' in PROVIDER escaped as
// %3A and %25), each readable only by a possessor and each with an expiry.
// Thread-safe.
class KernelKeyCache : public KeyResolver {
 public:
  static constexpr const char* kDefaultKeyring = "dumpcrypt";

  // Open finds the keyring; `create` makes it when absent. NOT_FOUND if
  // absent and !create; UNIMPLEMENTED where the kernel has no keyrings.
  static absl::StatusOr<std::unique_ptr<KernelKeyCache>> Open(
      const std::string& name, bool create);

  // Put stores `kek` (32 bytes) under `ref`, replacing an older one, to
  // expire after `lifetime` (whole seconds, at least one).
  absl::Status Put(const KeyRef& ref, const SecretBytes& kek,
                   absl::Duration lifetime);

  struct Entry {
    KeyRef ref;
    int32_t serial = 0;
    std::string expires;  // as /proc/keys says it: "58m", "2d", "perm"
  };
  // List returns the cached keys (not their bytes), in keyring order.
  absl::StatusOr<std::vector<Entry>> List() const;

  // Flush revokes every cached key (no one can read it again) and empties
  // the keyring; it returns how many keys it revoked.
  absl::StatusOr<int> Flush();

  // Resolve reads the key `ref` names. NOT_FOUND if the cache lacks it or
  // it expired or was revoked (the message says which).
  absl::StatusOr<SecretBytes> Resolve(const KeyRef& ref) override;
  std::string Describe() const override;

  // Description is the keyring description of `ref`'s key.
  static std::string Description(const KeyRef& ref);

 private:
  KernelKeyCache(std::string name, int32_t keyring)
      : name_(std::move(name)), keyring_(keyring) {}

  const std::string name_;
  const int32_t keyring_;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_KMS_KERNEL_KEY_CACHE_H_
