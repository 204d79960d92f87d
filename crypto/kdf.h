// HKDF-SHA-256 (RFC 5869), HMAC-SHA-256 and SHA-256 over OpenSSL 3's
// EVP_KDF/EVP_MAC.
#ifndef DUMPCRYPT_CRYPTO_KDF_H_
#define DUMPCRYPT_CRYPTO_KDF_H_

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <initializer_list>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "crypto/secret_bytes.h"

namespace dumpcrypt {

// HkdfSha256 derives `length` bytes (1..8160) from `ikm` with `salt` and
// `info` (extract then expand). INTERNAL on OpenSSL failure.
absl::StatusOr<SecretBytes> HkdfSha256(absl::Span<const uint8_t> ikm,
                                       absl::Span<const uint8_t> salt,
                                       absl::Span<const uint8_t> info,
                                       size_t length);

using Sha256Digest = std::array<uint8_t, 32>;

// HmacSha256 returns HMAC-SHA-256 under `key` of the concatenation of
// `parts`. INTERNAL on OpenSSL failure.
absl::StatusOr<Sha256Digest> HmacSha256(
    const SecretBytes& key,
    std::initializer_list<absl::Span<const uint8_t>> parts);

// Sha256 hashes `bytes` (SHA-256, FIPS 180-4).
Sha256Digest Sha256(absl::Span<const uint8_t> bytes);

// Sha256Stream hashes bytes given in pieces.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(absl::Span<const uint8_t> bytes);
  // Finish returns the digest of everything given; the stream is then spent.
  Sha256Digest Finish();

 private:
  EVP_MD_CTX* ctx_;
};

// AsBytes views a string's characters as bytes.
inline absl::Span<const uint8_t> AsBytes(absl::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_CRYPTO_KDF_H_
