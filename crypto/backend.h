// CryptoBackend: which library runs the primitives of crypto/. OpenSSL 3 is
// in every build; the fast back end (libgcrypt's AES-XTS and Intel
// ipsec-mb's GMAC, GCM and CTR, with VAES where the CPU has it) only where
// the build found both (CMake option DUMPCRYPT_FAST_CRYPTO).
#ifndef DUMPCRYPT_CRYPTO_BACKEND_H_
#define DUMPCRYPT_CRYPTO_BACKEND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dumpcrypt {

enum class CryptoBackend { kDefault, kOpenSsl, kFast };

// FastCryptoBuilt is true when the fast back end is in this build.
bool FastCryptoBuilt();

// ChosenBackend resolves kDefault: the environment variable
// DUMPCRYPT_CRYPTO ("openssl" or "fast"), read once, else kFast where
// built, else kOpenSsl. FAILED_PRECONDITION for kFast (asked for, or named
// by the variable) in a build without it, or for an unknown name.
absl::StatusOr<CryptoBackend> ChosenBackend(CryptoBackend asked);

// BackendName is "openssl" or "fast (libgcrypt, ipsec-mb)".
std::string BackendName(CryptoBackend backend);

// BuiltBackends lists kOpenSsl, then kFast where built: for tests and
// benchmarks that run every back end.
std::vector<CryptoBackend> BuiltBackends();

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_CRYPTO_BACKEND_H_
