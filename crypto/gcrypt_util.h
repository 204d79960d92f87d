// libgcrypt's handles for the fast back end's AES-256-XTS (fast_backend.cc):
// its XTS uses VAES where the CPU has it, which OpenSSL 3.0 does not
// (docs/PERFORMANCE.md). Included by crypto/*.cc of the fast back end only.
#ifndef DUMPCRYPT_CRYPTO_GCRYPT_UTIL_H_
#define DUMPCRYPT_CRYPTO_GCRYPT_UTIL_H_

#include <gcrypt.h>

#include <memory>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/lease_pool.h"
#include "crypto/secret_bytes.h"

namespace dumpcrypt {

struct GcryCipherCloser {
  void operator()(gcry_cipher_hd_t handle) const { gcry_cipher_close(handle); }
};
using GcryCipherPtr =
    std::unique_ptr<std::remove_pointer_t<gcry_cipher_hd_t>, GcryCipherCloser>;
using GcryCipherPool = LeasePool<GcryCipherPtr>;

// GcryptError returns a Status of `code` whose message is `what` and
// libgcrypt's text for `err`.
absl::Status GcryptError(absl::StatusCode code, absl::string_view what,
                         gcry_error_t err);

// MakeGcryCipherPool returns a pool of handles for `algo` in `mode`, each
// keyed with `key`, which the pool keeps until it is destroyed (a handle
// cannot be copied). Initialises libgcrypt on first use. INVALID_ARGUMENT if
// libgcrypt rejects the key, INTERNAL if the library is older than the one
// built against or cannot open the cipher.
absl::StatusOr<std::unique_ptr<GcryCipherPool>> MakeGcryCipherPool(
    int algo, int mode, SecretBytes key);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_CRYPTO_GCRYPT_UTIL_H_
