// SectorTagger: a 16-byte AES-256-GMAC tag per sector over its ciphertext,
// the 96-bit nonce being the sector number, little-endian, then four zero
// bytes. Each sector of a file is tagged once, so nonces never repeat.
// The GMAC runs on Intel's ipsec-mb library (VAES/VPCLMULQDQ where the CPU
// has them); its key schedule and hash-key powers live in SecretBytes.
#ifndef DUMPCRYPT_CRYPTO_SECTOR_TAGS_H_
#define DUMPCRYPT_CRYPTO_SECTOR_TAGS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crypto/secret_bytes.h"

struct gcm_key_data;
struct gcm_context_data;

namespace dumpcrypt {

class SectorTagger {
 public:
  static constexpr size_t kTagSize = 16;

  // Create schedules `key` (16, 24 or 32 bytes; the format uses 32) and
  // cleanses it. INVALID_ARGUMENT for other sizes, INTERNAL if ipsec-mb
  // cannot be initialised.
  static absl::StatusOr<std::unique_ptr<SectorTagger>> Create(SecretBytes key);

  // Compute writes one tag per sector of `data` (consecutive sectors of
  // `sector_size`, the first numbered `first_sector`) into `tags`, which must
  // hold data.size() / sector_size * 16 bytes. Thread-safe.
  absl::Status Compute(uint64_t first_sector, size_t sector_size,
                       absl::Span<const uint8_t> data,
                       absl::Span<uint8_t> tags) const;

  // FindBadSector checks every tag in constant time per tag and returns the
  // index (counted from 0 within `data`) of the first sector whose tag does
  // not match, or nullopt if all match. Errors only on mismatched sizes.
  // Thread-safe.
  absl::StatusOr<std::optional<size_t>> FindBadSector(
      uint64_t first_sector, size_t sector_size, absl::Span<const uint8_t> data,
      absl::Span<const uint8_t> tags) const;

  // Gmac computes one AES-GMAC tag of `aad` under the 12-byte `nonce`; for
  // known-answer tests and single messages. Thread-safe.
  absl::Status Gmac(absl::Span<const uint8_t> nonce,
                    absl::Span<const uint8_t> aad, uint8_t tag[16]) const;

 private:
  using GmacInit = void (*)(const gcm_key_data*, gcm_context_data*,
                            const uint8_t*, uint64_t);
  using GmacUpdate = GmacInit;
  using GmacFinalize = void (*)(const gcm_key_data*, gcm_context_data*,
                                uint8_t*, uint64_t);

  SectorTagger(SecretBytes schedule, GmacInit init, GmacUpdate update,
               GmacFinalize finalize)
      : schedule_(std::move(schedule)),
        init_(init),
        update_(update),
        finalize_(finalize) {}
  const gcm_key_data* schedule() const;
  void TagOne(gcm_context_data* ctx, const uint8_t nonce[12],
              absl::Span<const uint8_t> aad, uint8_t tag[16]) const;

  const SecretBytes schedule_;  // a gcm_key_data
  const GmacInit init_;
  const GmacUpdate update_;
  const GmacFinalize finalize_;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_CRYPTO_SECTOR_TAGS_H_
