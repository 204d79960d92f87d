#include "crypto/xts_cipher.h"

#include <openssl/crypto.h>

#include <cstring>
#include <utility>

#include "base/status_macros.h"

namespace dumpcrypt {

void XtsTweak(uint64_t sector, uint8_t tweak[16]) {
  std::memset(tweak, 0, 16);
  for (int i = 0; i < 8; ++i)
    tweak[i] = static_cast<uint8_t>(sector >> (8 * i));
}

absl::StatusOr<std::unique_ptr<XtsSectorCipher>> XtsSectorCipher::Create(
    SecretBytes key, Direction direction) {
  if (key.size() != kKeySize) {
    return absl::InvalidArgumentError("AES-256-XTS key must be 64 bytes");
  }
  if (CRYPTO_memcmp(key.data(), key.data() + 32, 32) == 0) {
    return absl::InvalidArgumentError(
        "AES-256-XTS key halves are equal (forbidden by IEEE 1619)");
  }
  DC_ASSIGN_OR_RETURN(
      auto pool, MakeGcryCipherPool(GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_XTS,
                                    std::move(key)));
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
  gcry_cipher_hd_t handle = lease.get();
  uint8_t tweak[16];
  const size_t count = data.size() / sector_size;
  for (size_t i = 0; i < count; ++i) {
    uint8_t* sector = data.data() + i * sector_size;
    XtsTweak(first_sector + i, tweak);
    gcry_error_t err = gcry_cipher_setiv(handle, tweak, sizeof(tweak));
    if (err == 0) {
      err = direction_ == Direction::kEncrypt
                ? gcry_cipher_encrypt(handle, sector, sector_size, nullptr, 0)
                : gcry_cipher_decrypt(handle, sector, sector_size, nullptr, 0);
    }
    if (err != 0) {
      return GcryptError(absl::StatusCode::kInternal, "AES-256-XTS", err);
    }
  }
  return absl::OkStatus();
}

}  // namespace dumpcrypt
