// XtsSectorCipher: AES-256-XTS over fixed-size sectors, the tweak of sector
// i being i as a 128-bit little-endian number (dm-crypt's "plain64").
#ifndef DUMPCRYPT_CRYPTO_XTS_CIPHER_H_
#define DUMPCRYPT_CRYPTO_XTS_CIPHER_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crypto/gcrypt_util.h"
#include "crypto/secret_bytes.h"

namespace dumpcrypt {

class XtsSectorCipher {
 public:
  enum class Direction { kEncrypt, kDecrypt };
  static constexpr size_t kKeySize = 64;

  // Create takes and schedules `key` (64 bytes: two AES-256 keys).
  // INVALID_ARGUMENT if the size is wrong or the two halves are equal (IEEE
  // 1619 forbids it; libgcrypt outside FIPS mode accepts it, as OpenSSL 3.0
  // does to decrypt).
  static absl::StatusOr<std::unique_ptr<XtsSectorCipher>> Create(
      SecretBytes key, Direction direction);

  // Transform encrypts or decrypts `data` in place as consecutive sectors of
  // `sector_size` bytes, the first being sector number `first_sector`.
  // data.size() must be a multiple of sector_size (INVALID_ARGUMENT) and
  // sector_size at least 16. INTERNAL on a libgcrypt failure. Thread-safe.
  absl::Status Transform(uint64_t first_sector, size_t sector_size,
                         absl::Span<uint8_t> data) const;

 private:
  XtsSectorCipher(std::unique_ptr<GcryCipherPool> pool, Direction direction)
      : pool_(std::move(pool)), direction_(direction) {}

  const std::unique_ptr<GcryCipherPool> pool_;
  const Direction direction_;
};

// XtsTweak writes sector number `sector` as the 16-byte little-endian tweak.
void XtsTweak(uint64_t sector, uint8_t tweak[16]);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_CRYPTO_XTS_CIPHER_H_
