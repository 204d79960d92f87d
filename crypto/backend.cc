#include "crypto/backend.h"

#include <cstdlib>
#include <optional>

#include "absl/strings/str_cat.h"

namespace dumpcrypt {

bool FastCryptoBuilt() {
#ifdef DUMPCRYPT_HAVE_FAST_CRYPTO
  return true;
#else
  return false;
#endif
}

absl::StatusOr<CryptoBackend> ChosenBackend(CryptoBackend asked) {
  static const absl::StatusOr<CryptoBackend> from_env =
      []() -> absl::StatusOr<CryptoBackend> {
    const char* name = std::getenv("DUMPCRYPT_CRYPTO");
    if (name == nullptr || *name == '\0') {
      return FastCryptoBuilt() ? CryptoBackend::kFast : CryptoBackend::kOpenSsl;
    }
    const absl::string_view n(name);
    if (n == "openssl") return CryptoBackend::kOpenSsl;
    if (n == "fast") return CryptoBackend::kFast;
    return absl::FailedPreconditionError(absl::StrCat(
        "DUMPCRYPT_CRYPTO='", n, "': the back ends are openssl and fast"));
  }();
  absl::StatusOr<CryptoBackend> chosen =
      asked == CryptoBackend::kDefault ? from_env : asked;
  if (chosen.ok() && *chosen == CryptoBackend::kFast && !FastCryptoBuilt()) {
    return absl::FailedPreconditionError(
        "the fast crypto back end (libgcrypt, ipsec-mb) is not in this build");
  }
  return chosen;
}

std::string BackendName(CryptoBackend backend) {
  return backend == CryptoBackend::kFast ? "fast (libgcrypt, ipsec-mb)"
                                         : "openssl";
}

std::vector<CryptoBackend> BuiltBackends() {
  if (FastCryptoBuilt()) return {CryptoBackend::kOpenSsl, CryptoBackend::kFast};
  return {CryptoBackend::kOpenSsl};
}

}  // namespace dumpcrypt
