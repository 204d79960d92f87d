// Public-key pieces for recipient key slots, over OpenSSL 3's EVP_PKEY:
// X25519 key agreement and RSA-OAEP (SHA-256), keys read from and written
// to PEM, and a key's fingerprint.
#ifndef DUMPCRYPT_CRYPTO_PUBLIC_KEY_H_
#define DUMPCRYPT_CRYPTO_PUBLIC_KEY_H_

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "crypto/kdf.h"
#include "crypto/secret_bytes.h"

namespace dumpcrypt {

enum class KeyType { kX25519, kRsa };

inline constexpr size_t kX25519Size = 32;
inline constexpr int kMinRsaBits = 2048;

// PublicKey is an X25519 or RSA (2048 bits or more) public key. Immutable.
class PublicKey {
 public:
  // FromPem reads a "PUBLIC KEY" PEM (SubjectPublicKeyInfo) or, for
  // convenience, the public half of a private key PEM. INVALID_ARGUMENT: not
  // a key, or of another type or a smaller size.
  static absl::StatusOr<PublicKey> FromPem(absl::string_view pem);
  // FromX25519 builds a key from its 32 raw bytes.
  static absl::StatusOr<PublicKey> FromX25519(absl::Span<const uint8_t> raw);

  KeyType type() const { return type_; }
  // fingerprint is SHA-256 of the DER SubjectPublicKeyInfo, what
  // `openssl pkey -pubin -outform DER | sha256sum` prints.
  const Sha256Digest& fingerprint() const { return fingerprint_; }
  // RawX25519 is the 32-byte X25519 public value (X25519 keys only).
  absl::StatusOr<std::array<uint8_t, kX25519Size>> RawX25519() const;
  std::string Pem() const;
  EVP_PKEY* get() const { return key_.get(); }

 private:
  friend class PrivateKey;
  // FromPkey takes ownership of `key`.
  static absl::StatusOr<PublicKey> FromPkey(EVP_PKEY* key);
  PublicKey(std::shared_ptr<EVP_PKEY> key, KeyType type, Sha256Digest fp)
      : key_(std::move(key)), type_(type), fingerprint_(fp) {}

  std::shared_ptr<EVP_PKEY> key_;
  KeyType type_;
  Sha256Digest fingerprint_;
};

// PrivateKey is an X25519 or RSA private key (an identity). Immutable.
class PrivateKey {
 public:
  // FromPem reads an unencrypted PKCS#8 "PRIVATE KEY" PEM (or a
  // traditional RSA one). INVALID_ARGUMENT as PublicKey::FromPem.
  static absl::StatusOr<PrivateKey> FromPem(absl::string_view pem);
  // Generate makes a new key: X25519, or RSA of `rsa_bits`.
  static absl::StatusOr<PrivateKey> Generate(KeyType type, int rsa_bits = 3072);

  const PublicKey& public_key() const { return public_; }
  // Pem is the key as PKCS#8 PEM, in memory that is cleansed when freed.
  absl::StatusOr<SecretBytes> Pem() const;
  EVP_PKEY* get() const { return key_.get(); }

 private:
  PrivateKey(std::shared_ptr<EVP_PKEY> key, PublicKey pub)
      : key_(std::move(key)), public_(std::move(pub)) {}

  std::shared_ptr<EVP_PKEY> key_;
  PublicKey public_;
};

// X25519Agree returns the 32-byte X25519 shared secret of `mine` and
// `peer`. INVALID_ARGUMENT if either is not X25519 or the result is the
// all-zero value (a low-order peer key).
absl::StatusOr<SecretBytes> X25519Agree(const PrivateKey& mine,
                                        const PublicKey& peer);

// RsaOaepEncrypt encrypts `plaintext` to `key` with RSA-OAEP, SHA-256 as
// hash and MGF1 hash, empty label.
absl::StatusOr<std::vector<uint8_t>> RsaOaepEncrypt(
    const PublicKey& key, absl::Span<const uint8_t> plaintext);
// RsaOaepDecrypt is its inverse; UNAUTHENTICATED if `ciphertext` was not
// made for `key` (or was changed).
absl::StatusOr<SecretBytes> RsaOaepDecrypt(
    const PrivateKey& key, absl::Span<const uint8_t> ciphertext);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_CRYPTO_PUBLIC_KEY_H_
