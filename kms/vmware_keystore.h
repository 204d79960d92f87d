// Key sources for VMware envelopes: an ESXi encryption.info host key store
// in mode NONE, and a raw key handed to a support engineer.
#ifndef DUMPCRYPT_KMS_VMWARE_KEYSTORE_H_
#define DUMPCRYPT_KMS_VMWARE_KEYSTORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"
#include "envelope/key_resolver.h"

namespace dumpcrypt {

// VmwareKeyStore holds the one host key of an ESXi encryption.info in mode
// NONE: keyId is a UUID; the key is PBKDF2-HMAC-SHA256 (100000 iterations,
// 32 bytes) of data1 followed by VMware's fixed obfuscation phrase, salted
// with data2 (both URL-escaped base64 in ConfigEncData).
class VmwareKeyStore : public KeyResolver {
 public:
  // Open parses and derives. INVALID_ARGUMENT naming what is malformed;
  // FAILED_PRECONDITION for a mode other than NONE (TPM-sealed stores).
  static absl::StatusOr<std::unique_ptr<VmwareKeyStore>> Open(
      const std::string& path);

  // Resolve returns the host key for its keyId (any provider); NOT_FOUND
  // for other keyIDs.
  absl::StatusOr<SecretBytes> Resolve(const KeyRef& ref) override;
  std::string Describe() const override { return "ESXi key store " + path_; }
  const std::string& key_id() const { return key_id_; }

 private:
  VmwareKeyStore(std::string path, std::string key_id, SecretBytes key)
      : path_(std::move(path)),
        key_id_(std::move(key_id)),
        key_(std::move(key)) {}
  const std::string path_;
  const std::string key_id_;
  const SecretBytes key_;
};

// FixedKeyResolver answers every key reference with one key (--key-hex).
class FixedKeyResolver : public KeyResolver {
 public:
  explicit FixedKeyResolver(SecretBytes key) : key_(std::move(key)) {}
  absl::StatusOr<SecretBytes> Resolve(const KeyRef&) override {
    return key_.Clone();
  }
  std::string Describe() const override {
    return "the key given with --key-hex";
  }

 private:
  const SecretBytes key_;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_KMS_VMWARE_KEYSTORE_H_
