#include "crypto/sector_tags.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>

#include <cstring>
#include <utility>

#include "base/status_macros.h"
#include "crypto/fast_backend.h"
#include "crypto/lease_pool.h"
#include "crypto/openssl_util.h"

namespace dumpcrypt {
namespace {

using MacPool = LeasePool<MacCtxPtr>;

// OpenSslTagger runs GMAC through EVP_MAC, one keyed context per concurrent
// caller; per message only the nonce changes.
class OpenSslTagger final : public SectorTagger {
 public:
  static absl::StatusOr<std::unique_ptr<SectorTagger>> Create(SecretBytes key) {
    static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "GMAC", nullptr);
    if (mac == nullptr)
      return OpenSslError(absl::StatusCode::kInternal, "GMAC");
    const std::string cipher = AesCipherName(key.size(), "GCM");
    auto shared_key = std::make_shared<const SecretBytes>(std::move(key));
    auto pool = std::make_unique<MacPool>(
        [cipher, shared_key]() -> absl::StatusOr<MacCtxPtr> {
          MacCtxPtr ctx(EVP_MAC_CTX_new(mac));
          uint8_t nonce[12] = {};
          OSSL_PARAM params[] = {
              OSSL_PARAM_construct_utf8_string(
                  OSSL_MAC_PARAM_CIPHER, const_cast<char*>(cipher.c_str()), 0),
              OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_IV, nonce,
                                                sizeof(nonce)),
              OSSL_PARAM_construct_end()};
          if (ctx == nullptr || EVP_MAC_init(ctx.get(), shared_key->data(),
                                             shared_key->size(), params) != 1) {
            return OpenSslError(absl::StatusCode::kInternal, "GMAC key");
          }
          return ctx;
        });
    DC_RETURN_IF_ERROR(pool->Acquire().status());
    return std::unique_ptr<SectorTagger>(new OpenSslTagger(std::move(pool)));
  }

 protected:
  absl::Status TagAll(const uint8_t* nonce, uint64_t first_sector, size_t size,
                      size_t count, const uint8_t* data,
                      uint8_t* tags) const override {
    DC_ASSIGN_OR_RETURN(MacPool::Lease lease, pool_->Acquire());
    uint8_t own[12];
    for (size_t i = 0; i < count; ++i) {
      if (nonce == nullptr) SectorNonce(first_sector + i, own);
      OSSL_PARAM params[] = {
          OSSL_PARAM_construct_octet_string(
              OSSL_MAC_PARAM_IV,
              const_cast<uint8_t*>(nonce != nullptr ? nonce : own), 12),
          OSSL_PARAM_construct_end()};
      size_t n = 0;
      if (EVP_MAC_init(lease.get(), nullptr, 0, params) != 1 ||
          EVP_MAC_update(lease.get(), data + i * size, size) != 1 ||
          EVP_MAC_final(lease.get(), tags + i * kTagSize, &n, kTagSize) != 1 ||
          n != kTagSize) {
        return OpenSslError(absl::StatusCode::kInternal, "GMAC");
      }
    }
    return absl::OkStatus();
  }

 private:
  explicit OpenSslTagger(std::unique_ptr<MacPool> pool)
      : pool_(std::move(pool)) {}
  const std::unique_ptr<MacPool> pool_;
};

absl::Status CheckTagBuffer(size_t sector_size, size_t data_size,
                            size_t tags_size) {
  if (sector_size == 0 || data_size % sector_size != 0 ||
      tags_size != data_size / sector_size * SectorTagger::kTagSize) {
    return absl::InvalidArgumentError("tag buffer does not match sectors");
  }
  return absl::OkStatus();
}

}  // namespace

void SectorTagger::SectorNonce(uint64_t sector, uint8_t nonce[12]) {
  std::memset(nonce, 0, 12);
  for (int i = 0; i < 8; ++i)
    nonce[i] = static_cast<uint8_t>(sector >> (8 * i));
}

absl::StatusOr<std::unique_ptr<SectorTagger>> SectorTagger::Create(
    SecretBytes key, CryptoBackend backend) {
  if (key.size() != 16 && key.size() != 24 && key.size() != 32)
    return absl::InvalidArgumentError("GMAC key must be 16, 24 or 32 bytes");
  DC_ASSIGN_OR_RETURN(CryptoBackend chosen, ChosenBackend(backend));
#ifdef DUMPCRYPT_HAVE_FAST_CRYPTO
  if (chosen == CryptoBackend::kFast) return fast::NewTagger(std::move(key));
#endif
  return OpenSslTagger::Create(std::move(key));
}

absl::Status SectorTagger::Gmac(absl::Span<const uint8_t> nonce,
                                absl::Span<const uint8_t> aad,
                                uint8_t tag[16]) const {
  if (nonce.size() != 12) return absl::InvalidArgumentError("nonce size");
  return TagAll(nonce.data(), 0, aad.size(), 1, aad.data(), tag);
}

absl::Status SectorTagger::Compute(uint64_t first_sector, size_t sector_size,
                                   absl::Span<const uint8_t> data,
                                   absl::Span<uint8_t> tags) const {
  DC_RETURN_IF_ERROR(CheckTagBuffer(sector_size, data.size(), tags.size()));
  return TagAll(nullptr, first_sector, sector_size, data.size() / sector_size,
                data.data(), tags.data());
}

absl::StatusOr<std::optional<size_t>> SectorTagger::FindBadSector(
    uint64_t first_sector, size_t sector_size, absl::Span<const uint8_t> data,
    absl::Span<const uint8_t> tags) const {
  DC_RETURN_IF_ERROR(CheckTagBuffer(sector_size, data.size(), tags.size()));
  constexpr size_t kBatch = 64;
  uint8_t computed[kBatch * kTagSize];
  const size_t count = data.size() / sector_size;
  for (size_t i = 0; i < count; i += kBatch) {
    const size_t n = std::min(kBatch, count - i);
    DC_RETURN_IF_ERROR(TagAll(nullptr, first_sector + i, sector_size, n,
                              data.data() + i * sector_size, computed));
    for (size_t j = 0; j < n; ++j) {
      if (CRYPTO_memcmp(computed + j * kTagSize,
                        tags.data() + (i + j) * kTagSize, kTagSize) != 0) {
        return std::optional<size_t>(i + j);
      }
    }
  }
  return std::optional<size_t>();
}

}  // namespace dumpcrypt
