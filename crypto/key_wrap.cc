#include "crypto/key_wrap.h"

#include <openssl/err.h>

#include "crypto/openssl_util.h"

namespace dumpcrypt {
namespace {

absl::StatusOr<CipherCtxPtr> WrapContext(const SecretBytes& kek, int enc) {
  const std::string name = AesCipherName(kek.size(), "WRAP-PAD");
  if (name.empty()) {
    return absl::InvalidArgumentError(
        "key-encryption key must be 16, 24 or 32 bytes");
  }
  const EVP_CIPHER* cipher = FetchCipher(name.c_str());
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (cipher == nullptr || ctx == nullptr) {
    return OpenSslError(absl::StatusCode::kInternal, "key wrap setup");
  }
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  if (EVP_CipherInit_ex2(ctx.get(), cipher, kek.data(), nullptr, enc,
                         nullptr) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "key wrap setup");
  }
  return ctx;
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> WrapKey(const SecretBytes& kek,
                                             const SecretBytes& key) {
  if (key.empty() || key.size() > 4096) {
    return absl::InvalidArgumentError("key to wrap must be 1 to 4096 bytes");
  }
  auto ctx = WrapContext(kek, 1);
  if (!ctx.ok()) return ctx.status();
  std::vector<uint8_t> out((key.size() + 7) / 8 * 8 + 8);
  int len = 0;
  int final_len = 0;
  if (EVP_CipherUpdate(ctx->get(), out.data(), &len, key.data(),
                       static_cast<int>(key.size())) != 1 ||
      EVP_CipherFinal_ex(ctx->get(), out.data() + len, &final_len) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "key wrap");
  }
  out.resize(static_cast<size_t>(len + final_len));
  return out;
}

absl::StatusOr<SecretBytes> UnwrapKey(const SecretBytes& kek,
                                      absl::Span<const uint8_t> wrapped) {
  if (wrapped.size() < 16 || wrapped.size() % 8 != 0 ||
      wrapped.size() > 4096 + 8) {
    return absl::UnauthenticatedError("wrapped key has an invalid length");
  }
  auto ctx = WrapContext(kek, 0);
  if (!ctx.ok()) return ctx.status();
  SecretBytes out(wrapped.size());
  int len = 0;
  int final_len = 0;
  if (EVP_CipherUpdate(ctx->get(), out.data(), &len, wrapped.data(),
                       static_cast<int>(wrapped.size())) != 1 ||
      len <= 0 ||
      EVP_CipherFinal_ex(ctx->get(), out.data() + len, &final_len) != 1) {
    ERR_clear_error();
    return absl::UnauthenticatedError(
        "key unwrap integrity check failed (wrong key or damaged key slot)");
  }
  out.Truncate(static_cast<size_t>(len + final_len));
  return out;
}

}  // namespace dumpcrypt
