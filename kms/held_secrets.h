// Key sources that hold their secret themselves: a password (for password
// slots) and private keys (identities, for recipient slots). Neither names
// keys by reference: Resolve is always NOT_FOUND.
#ifndef DUMPCRYPT_KMS_HELD_SECRETS_H_
#define DUMPCRYPT_KMS_HELD_SECRETS_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "crypto/public_key.h"
#include "crypto/secret_bytes.h"
#include "envelope/key_resolver.h"

namespace dumpcrypt {

// ReadPasswordFile returns a password file's first line without its line
// end. The file must be a regular file only its owner may read
// (PERMISSION_DENIED otherwise); INVALID_ARGUMENT if the line is empty.
absl::StatusOr<SecretBytes> ReadPasswordFile(const std::string& path);

// PasswordSource opens password slots with one password. Each distinct KDF
// (cost and salt) is derived once and kept, and one derivation runs at a
// time, so that many files sealed under one bundle password cost one
// derivation and parallel opens do not each take the KDF's memory.
class PasswordSource : public KeyResolver {
 public:
  PasswordSource(SecretBytes password, std::string description)
      : password_(std::move(password)), description_(std::move(description)) {}

  absl::StatusOr<SecretBytes> Resolve(const KeyRef& ref) override;
  absl::StatusOr<SecretBytes> SlotKek(const KeySlot& slot) override;
  std::string Describe() const override { return description_; }

  // Derivations is how many times the KDF ran.
  int Derivations() const;

 private:
  const SecretBytes password_;
  const std::string description_;
  mutable absl::Mutex mu_;
  std::vector<std::pair<PasswordKdf, SecretBytes>> keks_ ABSL_GUARDED_BY(mu_);
  int derivations_ ABSL_GUARDED_BY(mu_) = 0;
};

// IdentitySource opens recipient slots made for its private keys.
class IdentitySource : public KeyResolver {
 public:
  // FromFiles reads each PEM private key file (regular, mode 0600 or
  // stricter). Errors name the file.
  static absl::StatusOr<std::unique_ptr<IdentitySource>> FromFiles(
      const std::vector<std::string>& paths);
  explicit IdentitySource(std::vector<PrivateKey> keys, std::string description)
      : keys_(std::move(keys)), description_(std::move(description)) {}

  absl::StatusOr<SecretBytes> Resolve(const KeyRef& ref) override;
  absl::StatusOr<SecretBytes> SlotKek(const KeySlot& slot) override;
  std::string Describe() const override { return description_; }

 private:
  const std::vector<PrivateKey> keys_;
  const std::string description_;
};

// AddHeldSecrets appends a PasswordSource for `password_file` and an
// IdentitySource for `identities`, where given, to `sources`.
absl::Status AddHeldSecrets(const std::string& password_file,
                            const std::vector<std::string>& identities,
                            std::vector<std::unique_ptr<KeyResolver>>* sources);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_KMS_HELD_SECRETS_H_
