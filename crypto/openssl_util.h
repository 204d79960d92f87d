// RAII owners for OpenSSL objects, OpenSSL errors as Status, and a pool of
// keyed cipher contexts for concurrent callers.
#ifndef DUMPCRYPT_CRYPTO_OPENSSL_UTIL_H_
#define DUMPCRYPT_CRYPTO_OPENSSL_UTIL_H_

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace dumpcrypt {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

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

// CipherContextPool hands out copies of one keyed EVP_CIPHER_CTX, so that
// the key schedule is computed once and each concurrent caller gets its own
// context. Thread-safe.
class CipherContextPool {
 public:
  // Create takes a context already initialised with cipher and key.
  static absl::StatusOr<std::unique_ptr<CipherContextPool>> Create(
      CipherCtxPtr keyed);
  ~CipherContextPool();

  // Lease returns its context to the pool when destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept
        : pool_(other.pool_), ctx_(std::move(other.ctx_)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    EVP_CIPHER_CTX* get() const { return ctx_.get(); }

   private:
    friend class CipherContextPool;
    Lease(const CipherContextPool* pool, CipherCtxPtr ctx)
        : pool_(pool), ctx_(std::move(ctx)) {}
    const CipherContextPool* pool_;
    CipherCtxPtr ctx_;
  };

  // Acquire returns a free context, copying the template when none is free;
  // INTERNAL if the copy fails.
  absl::StatusOr<Lease> Acquire() const;

 private:
  explicit CipherContextPool(CipherCtxPtr keyed)
      : template_(std::move(keyed)) {}
  void Release(CipherCtxPtr ctx) const;

  const CipherCtxPtr template_;
  mutable absl::Mutex mu_;
  mutable std::vector<CipherCtxPtr> free_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_CRYPTO_OPENSSL_UTIL_H_
