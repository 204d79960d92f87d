#include "crypto/sector_tags.h"

#include <openssl/crypto.h>

#include <cstring>
#include <utility>

#include "crypto/ipsec_mb.h"

namespace dumpcrypt {
namespace {

void SectorNonce(uint64_t sector, uint8_t nonce[12]) {
  std::memset(nonce, 0, 12);
  for (int i = 0; i < 8; ++i)
    nonce[i] = static_cast<uint8_t>(sector >> (8 * i));
}

// Wipes the running GHASH state, from which the hash key could be solved.
class ContextGuard {
 public:
  ~ContextGuard() { OPENSSL_cleanse(&ctx_, sizeof(ctx_)); }
  gcm_context_data* get() { return &ctx_; }

 private:
  gcm_context_data ctx_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SectorTagger>> SectorTagger::Create(
    SecretBytes key) {
  const IMB_MGR* m = IpsecMb();
  if (m == nullptr) return absl::InternalError("ipsec-mb: no usable manager");
  auto make = [&key](aes_gcm_pre_t pre, GmacInit init, GmacUpdate update,
                     GmacFinalize finalize) {
    // SecretBytes is 64-byte aligned, as gcm_key_data needs.
    SecretBytes schedule(sizeof(gcm_key_data));
    pre(key.data(), reinterpret_cast<gcm_key_data*>(schedule.data()));
    return std::unique_ptr<SectorTagger>(
        new SectorTagger(std::move(schedule), init, update, finalize));
  };
  switch (key.size()) {
    case 16:
      return make(m->gcm128_pre, m->gmac128_init, m->gmac128_update,
                  m->gmac128_finalize);
    case 24:
      return make(m->gcm192_pre, m->gmac192_init, m->gmac192_update,
                  m->gmac192_finalize);
    case 32:
      return make(m->gcm256_pre, m->gmac256_init, m->gmac256_update,
                  m->gmac256_finalize);
  }
  return absl::InvalidArgumentError("GMAC key must be 16, 24 or 32 bytes");
}

const gcm_key_data* SectorTagger::schedule() const {
  return reinterpret_cast<const gcm_key_data*>(schedule_.data());
}

void SectorTagger::TagOne(gcm_context_data* ctx, const uint8_t nonce[12],
                          absl::Span<const uint8_t> aad,
                          uint8_t tag[16]) const {
  init_(schedule(), ctx, nonce, 12);
  if (!aad.empty()) update_(schedule(), ctx, aad.data(), aad.size());
  finalize_(schedule(), ctx, tag, kTagSize);
}

absl::Status SectorTagger::Gmac(absl::Span<const uint8_t> nonce,
                                absl::Span<const uint8_t> aad,
                                uint8_t tag[16]) const {
  if (nonce.size() != 12) return absl::InvalidArgumentError("nonce size");
  ContextGuard ctx;
  TagOne(ctx.get(), nonce.data(), aad, tag);
  return absl::OkStatus();
}

absl::Status SectorTagger::Compute(uint64_t first_sector, size_t sector_size,
                                   absl::Span<const uint8_t> data,
                                   absl::Span<uint8_t> tags) const {
  if (sector_size == 0 || data.size() % sector_size != 0 ||
      tags.size() != data.size() / sector_size * kTagSize) {
    return absl::InvalidArgumentError("tag buffer does not match sectors");
  }
  ContextGuard ctx;
  uint8_t nonce[12];
  for (size_t i = 0; i < data.size() / sector_size; ++i) {
    SectorNonce(first_sector + i, nonce);
    TagOne(ctx.get(), nonce, data.subspan(i * sector_size, sector_size),
           tags.data() + i * kTagSize);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<size_t>> SectorTagger::FindBadSector(
    uint64_t first_sector, size_t sector_size, absl::Span<const uint8_t> data,
    absl::Span<const uint8_t> tags) const {
  if (sector_size == 0 || data.size() % sector_size != 0 ||
      tags.size() != data.size() / sector_size * kTagSize) {
    return absl::InvalidArgumentError("tag buffer does not match sectors");
  }
  ContextGuard ctx;
  uint8_t nonce[12];
  uint8_t tag[kTagSize];
  for (size_t i = 0; i < data.size() / sector_size; ++i) {
    SectorNonce(first_sector + i, nonce);
    TagOne(ctx.get(), nonce, data.subspan(i * sector_size, sector_size), tag);
    if (CRYPTO_memcmp(tag, tags.data() + i * kTagSize, kTagSize) != 0) {
      return std::optional<size_t>(i);
    }
  }
  return std::optional<size_t>();
}

}  // namespace dumpcrypt
