// SectorTagger: a 16-byte AES-256-GMAC tag per sector over its ciphertext,
// the 96-bit nonce being the sector number, little-endian, then four zero
// bytes. Each sector of a file is tagged once, so nonces never repeat.
#ifndef DUMPCRYPT_CRYPTO_SECTOR_TAGS_H_
#define DUMPCRYPT_CRYPTO_SECTOR_TAGS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crypto/backend.h"
#include "crypto/secret_bytes.h"

namespace dumpcrypt {

class SectorTagger {
 public:
  static constexpr size_t kTagSize = 16;

  // Create schedules `key` (16, 24 or 32 bytes; the format uses 32) on
  // `backend` and cleanses it. INVALID_ARGUMENT for other sizes,
  // FAILED_PRECONDITION for a back end not built in, INTERNAL if the library
  // fails.
  static absl::StatusOr<std::unique_ptr<SectorTagger>> Create(
      SecretBytes key, CryptoBackend backend = CryptoBackend::kDefault);
  virtual ~SectorTagger() = default;

  // Compute writes one tag per sector of `data` (consecutive sectors of
  // `sector_size`, the first numbered `first_sector`) into `tags`, which must
  // hold data.size() / sector_size * 16 bytes (INVALID_ARGUMENT otherwise).
  // Thread-safe.
  absl::Status Compute(uint64_t first_sector, size_t sector_size,
                       absl::Span<const uint8_t> data,
                       absl::Span<uint8_t> tags) const;

  // FindBadSector checks every tag in constant time per tag and returns the
  // index (counted from 0 within `data`) of the first sector whose tag does
  // not match, or nullopt if all match. Errors only on mismatched sizes or a
  // library failure. Thread-safe.
  absl::StatusOr<std::optional<size_t>> FindBadSector(
      uint64_t first_sector, size_t sector_size, absl::Span<const uint8_t> data,
      absl::Span<const uint8_t> tags) const;

  // Gmac computes one AES-GMAC tag of `aad` under the 12-byte `nonce`; for
  // known-answer tests and single messages. Thread-safe.
  absl::Status Gmac(absl::Span<const uint8_t> nonce,
                    absl::Span<const uint8_t> aad, uint8_t tag[16]) const;

  // SectorNonce writes the nonce of sector `sector`.
  static void SectorNonce(uint64_t sector, uint8_t nonce[12]);

 protected:
  // TagAll writes into `tags` (count * 16 bytes) the tags of `count`
  // messages: message i is data[i * size, (i + 1) * size) under the nonce
  // of sector first_sector + i, or, with count 1 and a `nonce`, `data`
  // under it. Sizes are checked by the caller.
  virtual absl::Status TagAll(const uint8_t* nonce, uint64_t first_sector,
                              size_t size, size_t count, const uint8_t* data,
                              uint8_t* tags) const = 0;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_CRYPTO_SECTOR_TAGS_H_
