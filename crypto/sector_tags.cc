#include "crypto/sector_tags.h"

#include <openssl/crypto.h>

#include <cstring>
#include <utility>

#include "crypto/status_macros.h"

namespace dumpcrypt {
namespace {

void SectorNonce(uint64_t sector, uint8_t nonce[12]) {
  std::memset(nonce, 0, 12);
  for (int i = 0; i < 8; ++i)
    nonce[i] = static_cast<uint8_t>(sector >> (8 * i));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SectorTagger>> SectorTagger::Create(
    SecretBytes key) {
  const int algo = key.size() == 16   ? GCRY_CIPHER_AES128
                   : key.size() == 24 ? GCRY_CIPHER_AES192
                   : key.size() == 32 ? GCRY_CIPHER_AES256
                                      : 0;
  if (algo == 0) {
    return absl::InvalidArgumentError("GMAC key must be 16, 24 or 32 bytes");
  }
  DC_ASSIGN_OR_RETURN(auto pool, MakeGcryCipherPool(algo, GCRY_CIPHER_MODE_GCM,
                                                    std::move(key)));
  return std::unique_ptr<SectorTagger>(new SectorTagger(std::move(pool)));
}

absl::Status SectorTagger::TagOne(gcry_cipher_hd_t handle,
                                  const uint8_t nonce[12],
                                  absl::Span<const uint8_t> aad,
                                  uint8_t tag[16]) {
  gcry_error_t err = gcry_cipher_setiv(handle, nonce, 12);
  if (err == 0 && !aad.empty()) {
    err = gcry_cipher_authenticate(handle, aad.data(), aad.size());
  }
  if (err == 0) err = gcry_cipher_gettag(handle, tag, kTagSize);
  if (err != 0)
    return GcryptError(absl::StatusCode::kInternal, "AES-GMAC", err);
  return absl::OkStatus();
}

absl::Status SectorTagger::Gmac(absl::Span<const uint8_t> nonce,
                                absl::Span<const uint8_t> aad,
                                uint8_t tag[16]) const {
  if (nonce.size() != 12) return absl::InvalidArgumentError("nonce size");
  DC_ASSIGN_OR_RETURN(auto lease, pool_->Acquire());
  return TagOne(lease.get(), nonce.data(), aad, tag);
}

absl::Status SectorTagger::Compute(uint64_t first_sector, size_t sector_size,
                                   absl::Span<const uint8_t> data,
                                   absl::Span<uint8_t> tags) const {
  if (sector_size == 0 || data.size() % sector_size != 0 ||
      tags.size() != data.size() / sector_size * kTagSize) {
    return absl::InvalidArgumentError("tag buffer does not match sectors");
  }
  DC_ASSIGN_OR_RETURN(auto lease, pool_->Acquire());
  uint8_t nonce[12];
  for (size_t i = 0; i < data.size() / sector_size; ++i) {
    SectorNonce(first_sector + i, nonce);
    DC_RETURN_IF_ERROR(TagOne(lease.get(), nonce,
                              data.subspan(i * sector_size, sector_size),
                              tags.data() + i * kTagSize));
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
  DC_ASSIGN_OR_RETURN(auto lease, pool_->Acquire());
  uint8_t nonce[12];
  uint8_t tag[kTagSize];
  for (size_t i = 0; i < data.size() / sector_size; ++i) {
    SectorNonce(first_sector + i, nonce);
    DC_RETURN_IF_ERROR(TagOne(lease.get(), nonce,
                              data.subspan(i * sector_size, sector_size), tag));
    if (CRYPTO_memcmp(tag, tags.data() + i * kTagSize, kTagSize) != 0) {
      return std::optional<size_t>(i);
    }
  }
  return std::optional<size_t>();
}

}  // namespace dumpcrypt
