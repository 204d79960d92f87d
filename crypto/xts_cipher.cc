#include "crypto/xts_cipher.h"

#include <openssl/crypto.h>

#include <cstring>

#include "crypto/status_macros.h"

namespace dumpcrypt {

void XtsTweak(uint64_t sector, uint8_t tweak[16]) {
  std::memset(tweak, 0, 16);
  for (int i = 0; i < 8; ++i)
    tweak[i] = static_cast<uint8_t>(sector >> (8 * i));
}

absl::StatusOr<std::unique_ptr<XtsSectorCipher>> XtsSectorCipher::Create(
    const SecretBytes& key, Direction direction) {
  if (key.size() != kKeySize) {
    return absl::InvalidArgumentError("AES-256-XTS key must be 64 bytes");
  }
  if (CRYPTO_memcmp(key.data(), key.data() + 32, 32) == 0) {
    return absl::InvalidArgumentError(
        "AES-256-XTS key halves are equal (forbidden by IEEE 1619)");
  }
  const EVP_CIPHER* cipher = FetchCipher("AES-256-XTS");
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (cipher == nullptr || ctx == nullptr ||
      EVP_CipherInit_ex2(ctx.get(), cipher, key.data(), nullptr,
                         direction == Direction::kEncrypt ? 1 : 0,
                         nullptr) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "AES-256-XTS key setup");
  }
  DC_ASSIGN_OR_RETURN(auto pool, CipherContextPool::Create(std::move(ctx)));
  return std::unique_ptr<XtsSectorCipher>(
      new XtsSectorCipher(std::move(pool), direction));
}

absl::Status XtsSectorCipher::Transform(uint64_t first_sector,
                                        size_t sector_size,
                                        absl::Span<uint8_t> data) const {
  if (sector_size < 16 || sector_size > (1u << 24) ||
      data.size() % sector_size != 0) {
    return absl::InvalidArgumentError("data is not whole sectors");
  }
  DC_ASSIGN_OR_RETURN(auto lease, pool_->Acquire());
  EVP_CIPHER_CTX* ctx = lease.get();
  const int enc = direction_ == Direction::kEncrypt ? 1 : 0;
  uint8_t tweak[16];
  const size_t count = data.size() / sector_size;
  for (size_t i = 0; i < count; ++i) {
    uint8_t* sector = data.data() + i * sector_size;
    XtsTweak(first_sector + i, tweak);
    int out_len = 0;
    if (EVP_CipherInit_ex2(ctx, nullptr, nullptr, tweak, enc, nullptr) != 1 ||
        EVP_CipherUpdate(ctx, sector, &out_len, sector,
                         static_cast<int>(sector_size)) != 1 ||
        static_cast<size_t>(out_len) != sector_size) {
      return OpenSslError(absl::StatusCode::kInternal, "AES-256-XTS");
    }
  }
  return absl::OkStatus();
}

}  // namespace dumpcrypt
