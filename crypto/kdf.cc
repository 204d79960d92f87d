#include "crypto/kdf.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <cstdlib>
#include <memory>

#include "crypto/openssl_util.h"

namespace dumpcrypt {
namespace {

struct KdfDeleter {
  void operator()(EVP_KDF* k) const { EVP_KDF_free(k); }
  void operator()(EVP_KDF_CTX* c) const { EVP_KDF_CTX_free(c); }
  void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
template <typename T>
using Owned = std::unique_ptr<T, KdfDeleter>;

void* Mutable(const uint8_t* p) {
  return const_cast<void*>(static_cast<const void*>(p));
}

}  // namespace

absl::StatusOr<SecretBytes> HkdfSha256(absl::Span<const uint8_t> ikm,
                                       absl::Span<const uint8_t> salt,
                                       absl::Span<const uint8_t> info,
                                       size_t length) {
  if (length == 0 || length > 255 * 32) {
    return absl::InvalidArgumentError("HKDF output length out of range");
  }
  Owned<EVP_KDF> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  Owned<EVP_KDF_CTX> ctx(kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
  if (ctx == nullptr) {
    return OpenSslError(absl::StatusCode::kInternal, "HKDF setup");
  }
  char digest[] = "SHA256";
  // An absent salt or info is how OpenSSL takes an empty one (RFC 5869).
  OSSL_PARAM params[5];
  OSSL_PARAM* p = params;
  *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                           Mutable(ikm.data()), ikm.size());
  if (!salt.empty()) {
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                             Mutable(salt.data()), salt.size());
  }
  if (!info.empty()) {
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                             Mutable(info.data()), info.size());
  }
  *p = OSSL_PARAM_construct_end();
  SecretBytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.data(), length, params) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "HKDF");
  }
  return out;
}

absl::StatusOr<Sha256Digest> HmacSha256(
    const SecretBytes& key,
    std::initializer_list<absl::Span<const uint8_t>> parts) {
  Owned<EVP_MAC> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  Owned<EVP_MAC_CTX> ctx(mac ? EVP_MAC_CTX_new(mac.get()) : nullptr);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  if (ctx == nullptr ||
      EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "HMAC setup");
  }
  for (const auto& part : parts) {
    if (EVP_MAC_update(ctx.get(), part.data(), part.size()) != 1) {
      return OpenSslError(absl::StatusCode::kInternal, "HMAC");
    }
  }
  Sha256Digest out;
  size_t out_len = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &out_len, out.size()) != 1 ||
      out_len != out.size()) {
    return OpenSslError(absl::StatusCode::kInternal, "HMAC");
  }
  return out;
}

Sha256Digest Sha256(absl::Span<const uint8_t> bytes) {
  Sha256Stream stream;
  stream.Update(bytes);
  return stream.Finish();
}

// SHA-256 fails only when OpenSSL cannot allocate a context: as operator
// new, it does not return then.
Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1)
    std::abort();
}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(ctx_); }

void Sha256Stream::Update(absl::Span<const uint8_t> bytes) {
  if (EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()) != 1) std::abort();
}

Sha256Digest Sha256Stream::Finish() {
  Sha256Digest out;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_, out.data(), &len) != 1) std::abort();
  return out;
}

}  // namespace dumpcrypt
