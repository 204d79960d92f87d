#include "crypto/xts_cipher.h"

#include <openssl/crypto.h>

#include <cstring>
#include <utility>

#include "base/status_macros.h"
#include "crypto/fast_backend.h"
#include "crypto/lease_pool.h"
#include "crypto/openssl_util.h"

namespace dumpcrypt {
namespace {

using CtxPool = LeasePool<CipherCtxPtr>;

// OpenSslXts keeps one keyed EVP_CIPHER_CTX per concurrent caller; per
// sector only the tweak changes.
class OpenSslXts final : public XtsSectorCipher {
 public:
  static absl::StatusOr<std::unique_ptr<XtsSectorCipher>> Create(
      SecretBytes key, Direction direction) {
    const EVP_CIPHER* cipher = FetchCipher("AES-256-XTS");
    if (cipher == nullptr)
      return OpenSslError(absl::StatusCode::kInternal, "AES-256-XTS");
    const int enc = direction == Direction::kEncrypt ? 1 : 0;
    auto shared_key = std::make_shared<const SecretBytes>(std::move(key));
    auto pool = std::make_unique<CtxPool>(
        [cipher, enc, shared_key]() -> absl::StatusOr<CipherCtxPtr> {
          CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
          if (ctx == nullptr ||
              EVP_CipherInit_ex2(ctx.get(), cipher, shared_key->data(), nullptr,
                                 enc, nullptr) != 1) {
            return OpenSslError(absl::StatusCode::kInternal, "AES-256-XTS key");
          }
          return ctx;
        });
    // The first context now, so that a bad key fails here, not in a read.
    DC_RETURN_IF_ERROR(pool->Acquire().status());
    return std::unique_ptr<XtsSectorCipher>(new OpenSslXts(std::move(pool)));
  }

  absl::Status Transform(uint64_t first_sector, size_t sector_size,
                         absl::Span<uint8_t> data) const override {
    DC_RETURN_IF_ERROR(CheckWholeSectors(sector_size, data.size()));
    DC_ASSIGN_OR_RETURN(CtxPool::Lease lease, pool_->Acquire());
    EVP_CIPHER_CTX* ctx = lease.get();
    uint8_t tweak[16];
    for (size_t i = 0; i < data.size() / sector_size; ++i) {
      uint8_t* sector = data.data() + i * sector_size;
      XtsTweak(first_sector + i, tweak);
      int n = 0;
      if (EVP_CipherInit_ex2(ctx, nullptr, nullptr, tweak, -1, nullptr) != 1 ||
          EVP_CipherUpdate(ctx, sector, &n, sector,
                           static_cast<int>(sector_size)) != 1 ||
          static_cast<size_t>(n) != sector_size) {
        return OpenSslError(absl::StatusCode::kInternal, "AES-256-XTS");
      }
    }
    return absl::OkStatus();
  }

 private:
  explicit OpenSslXts(std::unique_ptr<CtxPool> pool) : pool_(std::move(pool)) {}
  const std::unique_ptr<CtxPool> pool_;
};

}  // namespace

void XtsTweak(uint64_t sector, uint8_t tweak[16]) {
  std::memset(tweak, 0, 16);
  for (int i = 0; i < 8; ++i)
    tweak[i] = static_cast<uint8_t>(sector >> (8 * i));
}

absl::Status CheckWholeSectors(size_t sector_size, size_t size) {
  if (sector_size < 16 || sector_size > (1u << 24) || size % sector_size != 0)
    return absl::InvalidArgumentError("data is not whole sectors");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<XtsSectorCipher>> XtsSectorCipher::Create(
    SecretBytes key, Direction direction, CryptoBackend backend) {
  if (key.size() != kKeySize) {
    return absl::InvalidArgumentError("AES-256-XTS key must be 64 bytes");
  }
  if (CRYPTO_memcmp(key.data(), key.data() + 32, 32) == 0) {
    return absl::InvalidArgumentError(
        "AES-256-XTS key halves are equal (forbidden by IEEE 1619)");
  }
  DC_ASSIGN_OR_RETURN(CryptoBackend chosen, ChosenBackend(backend));
#ifdef DUMPCRYPT_HAVE_FAST_CRYPTO
  if (chosen == CryptoBackend::kFast)
    return fast::NewXts(std::move(key), direction);
#endif
  return OpenSslXts::Create(std::move(key), direction);
}

}  // namespace dumpcrypt
