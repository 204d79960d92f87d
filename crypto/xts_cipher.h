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
#include "crypto/backend.h"
#include "crypto/secret_bytes.h"

namespace dumpcrypt {

class XtsSectorCipher {
 public:
  enum class Direction { kEncrypt, kDecrypt };
  static constexpr size_t kKeySize = 64;

  // Create takes and schedules `key` (64 bytes: two AES-256 keys) on
  // `backend`. INVALID_ARGUMENT if the size is wrong or the two halves are
  // equal (IEEE 1619 forbids it; OpenSSL 3.0 accepts it to decrypt, as
  // libgcrypt does outside FIPS mode); FAILED_PRECONDITION for a back end
  // not built in; INTERNAL if the library fails.
  static absl::StatusOr<std::unique_ptr<XtsSectorCipher>> Create(
      SecretBytes key, Direction direction,
      CryptoBackend backend = CryptoBackend::kDefault);
  virtual ~XtsSectorCipher() = default;

  // Transform encrypts or decrypts `data` in place as consecutive sectors of
  // `sector_size` bytes, the first being sector number `first_sector`.
  // data.size() must be a multiple of sector_size, which must be 16 to
  // 2^24 (INVALID_ARGUMENT). INTERNAL on a library failure. Thread-safe.
  virtual absl::Status Transform(uint64_t first_sector, size_t sector_size,
                                 absl::Span<uint8_t> data) const = 0;
};

// XtsTweak writes sector number `sector` as the 16-byte little-endian tweak.
void XtsTweak(uint64_t sector, uint8_t tweak[16]);

// CheckWholeSectors is Transform's INVALID_ARGUMENT check.
absl::Status CheckWholeSectors(size_t sector_size, size_t size);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_CRYPTO_XTS_CIPHER_H_
