#include "crypto/backend.h"

#include <cstdlib>
#include <optional>

#include "absl/strings/str_cat.h"
#ifdef DUMPCRYPT_HAVE_FAST_CRYPTO
#include "crypto/fast_backend.h"
#endif

namespace dumpcrypt {

bool FastCryptoBuilt() {
#ifdef DUMPCRYPT_HAVE_FAST_CRYPTO
  return true;
#else
  return false;
#endif
}

bool FastCryptoUsable() {
#ifdef DUMPCRYPT_HAVE_FAST_CRYPTO
  return fast::Usable();
#else
  return false;
#endif
}

absl::StatusOr<CryptoBackend> ChosenBackend(CryptoBackend asked) {
  static const absl::StatusOr<CryptoBackend> from_env =
      []() -> absl::StatusOr<CryptoBackend> {
    const char* name = std::getenv("DUMPCRYPT_CRYPTO");
    if (name == nullptr || *name == '\0') {
      return FastCryptoUsable() ? CryptoBackend::kFast
                                : CryptoBackend::kOpenSsl;
    }
    const absl::string_view n(name);
    if (n == "openssl") return CryptoBackend::kOpenSsl;
    if (n == "fast") return CryptoBackend::kFast;
    return absl::FailedPreconditionError(absl::StrCat(
        "DUMPCRYPT_CRYPTO='", n, "': the back ends are openssl and fast"));
  }();
  absl::StatusOr<CryptoBackend> chosen =
      asked == CryptoBackend::kDefault ? from_env : asked;
  if (chosen.ok() && *chosen == CryptoBackend::kFast && !FastCryptoUsable()) {
    return absl::FailedPreconditionError(
        FastCryptoBuilt()
            ? "the fast crypto back end cannot run on this CPU (ipsec-mb "
              "needs AES-NI)"
            : "the fast crypto back end (libgcrypt, ipsec-mb) is not in this "
              "build");
  }
  return chosen;
}

std::string BackendName(CryptoBackend backend) {
  return backend == CryptoBackend::kFast ? "fast (libgcrypt, ipsec-mb)"
                                         : "openssl";
}

std::vector<CryptoBackend> UsableBackends() {
  if (FastCryptoUsable())
    return {CryptoBackend::kOpenSsl, CryptoBackend::kFast};
  return {CryptoBackend::kOpenSsl};
}

}  // namespace dumpcrypt
