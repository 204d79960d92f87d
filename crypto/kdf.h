// HKDF-SHA-256 (RFC 5869) and HMAC-SHA-256 over OpenSSL 3's EVP_KDF/EVP_MAC.
#ifndef DUMPCRYPT_CRYPTO_KDF_H_
#define DUMPCRYPT_CRYPTO_KDF_H_

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

// AsBytes views a string's characters as bytes.
inline absl::Span<const uint8_t> AsBytes(absl::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_CRYPTO_KDF_H_
