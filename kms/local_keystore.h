// LocalKeyStore: the embedded default key source, a text file of
// keyID -> 32-byte key (docs/FORMAT.md, "Local key store").
#ifndef DUMPCRYPT_KMS_LOCAL_KEYSTORE_H_
#define DUMPCRYPT_KMS_LOCAL_KEYSTORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"
#include "envelope/key_resolver.h"

namespace dumpcrypt {

// The store is read anew on every call, so keys are in memory only while
// one is being resolved; a store whose mode lets group or others read it
// is refused. Thread-safe.
class LocalKeyStore : public KeyResolver {
 public:
  // Open names an existing store. NOT_FOUND if absent; PERMISSION_DENIED if
  // group or others may read it, or it is not a regular file.
  static absl::StatusOr<std::unique_ptr<LocalKeyStore>> Open(std::string path);

  // OpenOrCreate opens `path`, creating an empty store with mode 0600 if it
  // does not exist.
  static absl::StatusOr<std::unique_ptr<LocalKeyStore>> OpenOrCreate(
      std::string path);

  // Resolve returns the key with keyID ref.key_id (the provider name is not
  // used: a store is one provider). NOT_FOUND naming the keyID and store.
  absl::StatusOr<SecretBytes> Resolve(const KeyRef& ref) override;
  std::string Describe() const override { return "key store " + path_; }

  // ListIds returns the keyIDs in file order; never key bytes.
  absl::StatusOr<std::vector<std::string>> ListIds() const;

  // Add stores `key` (32 bytes) as `key_id`, replacing the file atomically
  // under an exclusive lock. ALREADY_EXISTS if the keyID is taken,
  // INVALID_ARGUMENT for a bad keyID or key size.
  absl::Status Add(const std::string& key_id, const SecretBytes& key);

 private:
  explicit LocalKeyStore(std::string path) : path_(std::move(path)) {}

  const std::string path_;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_KMS_LOCAL_KEYSTORE_H_
