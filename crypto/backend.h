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

// FastCryptoUsable is true when it is built and runs on this CPU (ipsec-mb
// needs AES-NI, which e.g. QEMU's default CPU model lacks).
bool FastCryptoUsable();

// ChosenBackend resolves kDefault: the environment variable
// DUMPCRYPT_CRYPTO ("openssl" or "fast"), read once, else kFast where
// usable, else kOpenSsl. FAILED_PRECONDITION for kFast (asked for, or named
// by the variable) where it is not usable, or for an unknown name.
absl::StatusOr<CryptoBackend> ChosenBackend(CryptoBackend asked);

// BackendName is "openssl" or "fast (libgcrypt, ipsec-mb)".
std::string BackendName(CryptoBackend backend);

// UsableBackends lists kOpenSsl, then kFast where usable: for tests and
// benchmarks that run every back end.
std::vector<CryptoBackend> UsableBackends();

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_CRYPTO_BACKEND_H_
