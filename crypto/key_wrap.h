// AES key wrap with padding (RFC 5649).
#ifndef DUMPCRYPT_CRYPTO_KEY_WRAP_H_
#define DUMPCRYPT_CRYPTO_KEY_WRAP_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crypto/secret_bytes.h"

namespace dumpcrypt {

// WrapKey wraps `key` (1 byte or more) under `kek` (16, 24 or 32 bytes;
// the format uses 32). The result is 8 bytes longer than `key` rounded up
// to 8. INVALID_ARGUMENT for a bad size, INTERNAL on OpenSSL failure.
absl::StatusOr<std::vector<uint8_t>> WrapKey(const SecretBytes& kek,
                                             const SecretBytes& key);

// UnwrapKey reverses WrapKey. UNAUTHENTICATED when the integrity check
// fails: `kek` is not the key that wrapped it, or `wrapped` was changed.
absl::StatusOr<SecretBytes> UnwrapKey(const SecretBytes& kek,
                                      absl::Span<const uint8_t> wrapped);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_CRYPTO_KEY_WRAP_H_
