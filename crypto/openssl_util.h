// RAII owners for OpenSSL objects and OpenSSL errors as Status.
#ifndef DUMPCRYPT_CRYPTO_OPENSSL_UTIL_H_
#define DUMPCRYPT_CRYPTO_OPENSSL_UTIL_H_

#include <openssl/evp.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dumpcrypt {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;

// OpenSslError drains OpenSSL's error queue of this thread into a Status of
// `code` whose message starts with `what`.
absl::Status OpenSslError(absl::StatusCode code, absl::string_view what);

// FetchCipher returns the named cipher, fetched once per process and kept
// for its life (so contexts need no implicit fetch per init); nullptr if the
// default provider lacks it.
const EVP_CIPHER* FetchCipher(const char* name);

// AesCipherName returns "AES-<bits>-<mode>" for a 16, 24 or 32-byte key,
// or "" for any other size.
std::string AesCipherName(size_t key_size, absl::string_view mode);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_CRYPTO_OPENSSL_UTIL_H_
