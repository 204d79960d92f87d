#include "crypto/aes_ctr.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

#include "base/bytes.h"
#include "base/status_macros.h"
#include "crypto/fast_backend.h"
#include "crypto/lease_pool.h"
#include "crypto/openssl_util.h"

namespace dumpcrypt {
namespace {

using CtxPool = LeasePool<CipherCtxPtr>;

// OpenSslCtr keeps one keyed context per concurrent caller. OpenSSL counts
// in all 16 bytes; Transform never lets the last four wrap within a Run.
class OpenSslCtr final : public AesCtr {
 public:
  static absl::StatusOr<std::unique_ptr<AesCtr>> Create(
      const SecretBytes& key) {
    const EVP_CIPHER* cipher = FetchCipher("AES-256-CTR");
    if (cipher == nullptr)
      return OpenSslError(absl::StatusCode::kInternal, "AES-256-CTR");
    auto shared_key = std::make_shared<const SecretBytes>(key.Clone());
    auto pool = std::make_unique<CtxPool>(
        [cipher, shared_key]() -> absl::StatusOr<CipherCtxPtr> {
          CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
          if (ctx == nullptr ||
              EVP_EncryptInit_ex2(ctx.get(), cipher, shared_key->data(),
                                  nullptr, nullptr) != 1) {
            return OpenSslError(absl::StatusCode::kInternal, "AES-256-CTR key");
          }
          return ctx;
        });
    DC_RETURN_IF_ERROR(pool->Acquire().status());
    return std::unique_ptr<AesCtr>(new OpenSslCtr(std::move(pool)));
  }

 protected:
  absl::Status Run(const uint8_t counter[kBlock], uint8_t* data,
                   size_t size) const override {
    DC_ASSIGN_OR_RETURN(CtxPool::Lease lease, pool_->Acquire());
    if (EVP_EncryptInit_ex2(lease.get(), nullptr, nullptr, counter, nullptr) !=
        1) {
      return OpenSslError(absl::StatusCode::kInternal, "AES-256-CTR");
    }
    constexpr size_t kPiece = size_t{1} << 30;
    for (size_t done = 0; done < size;) {
      const size_t n = std::min(kPiece, size - done);
      int got = 0;
      if (EVP_EncryptUpdate(lease.get(), data + done, &got, data + done,
                            static_cast<int>(n)) != 1) {
        return OpenSslError(absl::StatusCode::kInternal, "AES-256-CTR");
      }
      done += n;
    }
    return absl::OkStatus();
  }

 private:
  explicit OpenSslCtr(std::unique_ptr<CtxPool> pool) : pool_(std::move(pool)) {}
  const std::unique_ptr<CtxPool> pool_;
};

// AddToCounter adds `blocks` to the big-endian counter in bytes 12-15.
void AddToCounter(uint8_t block[16], uint64_t blocks) {
  StoreBe(LoadBe(block + 12, 4) + blocks, block + 12, 4);
}

}  // namespace

absl::StatusOr<std::unique_ptr<AesCtr>> AesCtr::Create(const SecretBytes& key,
                                                       CryptoBackend backend) {
  if (key.size() != 32) {
    return absl::InvalidArgumentError("AES-256-CTR key must be 32 bytes");
  }
  DC_ASSIGN_OR_RETURN(CryptoBackend chosen, ChosenBackend(backend));
#ifdef DUMPCRYPT_HAVE_FAST_CRYPTO
  if (chosen == CryptoBackend::kFast) return fast::NewCtr(key);
#endif
  return OpenSslCtr::Create(key);
}

absl::Status AesCtr::Transform(const uint8_t counter[kBlock], size_t skip,
                               absl::Span<uint8_t> data) const {
  if (skip >= kBlock) return absl::InvalidArgumentError("skip >= 16");
  if (data.empty()) return absl::OkStatus();
  uint8_t block[kBlock];
  std::memcpy(block, counter, kBlock);
  if (skip != 0) {
    uint8_t partial[kBlock] = {};
    const size_t n = std::min(kBlock - skip, data.size());
    std::memcpy(partial + skip, data.data(), n);
    absl::Status status = Run(block, partial, kBlock);
    std::memcpy(data.data(), partial + skip, n);
    OPENSSL_cleanse(partial, sizeof(partial));
    DC_RETURN_IF_ERROR(status);
    data.remove_prefix(n);
    AddToCounter(block, 1);
  }
  while (!data.empty()) {
    // Up to the block where the last four bytes wrap to zero, then on.
    const uint64_t to_wrap = (uint64_t{1} << 32) - LoadBe(block + 12, 4);
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(data.size(), to_wrap * kBlock));
    DC_RETURN_IF_ERROR(Run(block, data.data(), n));
    data.remove_prefix(n);
    AddToCounter(block, (n + kBlock - 1) / kBlock);
  }
  return absl::OkStatus();
}

}  // namespace dumpcrypt
