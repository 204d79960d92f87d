#include "crypto/aes_gcm.h"

#include <openssl/evp.h>

#include <algorithm>

#include "base/status_macros.h"
#include "crypto/fast_backend.h"
#include "crypto/openssl_util.h"

namespace dumpcrypt {
namespace {

class OpenSslGcmDecryptor final : public AesGcmDecryptor {
 public:
  static absl::StatusOr<std::unique_ptr<AesGcmDecryptor>> Create(
      const SecretBytes& key, absl::Span<const uint8_t> iv,
      absl::Span<const uint8_t> aad) {
    const EVP_CIPHER* cipher = FetchCipher("AES-256-GCM");
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    if (cipher == nullptr || ctx == nullptr ||
        EVP_DecryptInit_ex2(ctx.get(), cipher, key.data(), iv.data(),
                            nullptr) != 1) {
      return OpenSslError(absl::StatusCode::kInternal, "AES-256-GCM");
    }
    std::unique_ptr<OpenSslGcmDecryptor> gcm(
        new OpenSslGcmDecryptor(std::move(ctx)));
    DC_RETURN_IF_ERROR(gcm->Feed(aad, nullptr));
    return std::unique_ptr<AesGcmDecryptor>(std::move(gcm));
  }

  absl::Status Update(absl::Span<const uint8_t> in,
                      absl::Span<uint8_t> out) override {
    if (finished_) return absl::FailedPreconditionError("GCM message finished");
    if (out.size() != in.size()) {
      return absl::InvalidArgumentError("GCM output size differs from input");
    }
    return Feed(in, out.data());
  }

  bool Finish(absl::Span<const uint8_t> tag) override {
    if (finished_ || tag.size() < 12 || tag.size() > 16) return false;
    finished_ = true;
    uint8_t none[16];
    int n = 0;
    return EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_GCM_SET_TAG,
                               static_cast<int>(tag.size()),
                               const_cast<uint8_t*>(tag.data())) == 1 &&
           EVP_DecryptFinal_ex(ctx_.get(), none, &n) == 1;
  }

 private:
  explicit OpenSslGcmDecryptor(CipherCtxPtr ctx) : ctx_(std::move(ctx)) {}

  // Feed passes `in` through the cipher, as associated data if `out` is
  // null, in pieces an int can count.
  absl::Status Feed(absl::Span<const uint8_t> in, uint8_t* out) {
    constexpr size_t kPiece = size_t{1} << 30;
    for (size_t done = 0; done < in.size();) {
      const size_t n = std::min(kPiece, in.size() - done);
      int got = 0;
      if (EVP_DecryptUpdate(ctx_.get(), out == nullptr ? nullptr : out + done,
                            &got, in.data() + done, static_cast<int>(n)) != 1) {
        return OpenSslError(absl::StatusCode::kInternal, "AES-256-GCM");
      }
      done += n;
    }
    return absl::OkStatus();
  }

  const CipherCtxPtr ctx_;
  bool finished_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AesGcmDecryptor>> AesGcmDecryptor::Create(
    const SecretBytes& key, absl::Span<const uint8_t> iv,
    absl::Span<const uint8_t> aad, CryptoBackend backend) {
  if (key.size() != 32) {
    return absl::InvalidArgumentError("AES-256-GCM key must be 32 bytes");
  }
  if (iv.size() != 12) {
    return absl::InvalidArgumentError("AES-256-GCM IV must be 12 bytes");
  }
  DC_ASSIGN_OR_RETURN(CryptoBackend chosen, ChosenBackend(backend));
#ifdef DUMPCRYPT_HAVE_FAST_CRYPTO
  if (chosen == CryptoBackend::kFast)
    return fast::NewGcmDecryptor(key, iv, aad);
#endif
  return OpenSslGcmDecryptor::Create(key, iv, aad);
}

}  // namespace dumpcrypt
