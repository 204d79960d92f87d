// Argon2id (RFC 9106, version 0x13) over libargon2, for password key slots.
#ifndef DUMPCRYPT_CRYPTO_ARGON2_H_
#define DUMPCRYPT_CRYPTO_ARGON2_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crypto/secret_bytes.h"

namespace dumpcrypt {

// Argon2Cost is what one derivation costs: passes over memory, memory in
// KiB, and lanes (computed on as many threads).
struct Argon2Cost {
  uint32_t time = 0;
  uint32_t memory_kib = 0;
  uint32_t lanes = 0;
  bool operator==(const Argon2Cost&) const = default;
};

// The bounds a reader accepts from a file: up to 4 GiB of memory, 64 passes
// and 16 lanes, so that a crafted slot cannot ask for more.
inline constexpr uint32_t kArgon2MaxMemoryKib = 4u << 20;
inline constexpr uint32_t kArgon2MaxTime = 64;
inline constexpr uint32_t kArgon2MaxLanes = 16;

// ValidateArgon2Cost: time 1..64, lanes 1..16, memory 8·lanes KiB..4 GiB.
// INVALID_ARGUMENT naming the parameter otherwise.
absl::Status ValidateArgon2Cost(const Argon2Cost& cost);

// Argon2id derives `length` bytes (4..1024) from `password` and `salt`
// (8..64 bytes) with no secret and no associated data. INVALID_ARGUMENT for
// bad parameters; RESOURCE_EXHAUSTED when the memory cannot be had.
absl::StatusOr<SecretBytes> Argon2id(absl::Span<const uint8_t> password,
                                     absl::Span<const uint8_t> salt,
                                     const Argon2Cost& cost, size_t length);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_CRYPTO_ARGON2_H_
