#include "crypto/gcrypt_util.h"

#include <utility>

#include "absl/base/call_once.h"
#include "absl/strings/str_cat.h"

namespace dumpcrypt {
namespace {

bool InitGcrypt() {
  static absl::once_flag once;
  static bool ok = false;
  absl::call_once(once, [] {
    ok = gcry_check_version(GCRYPT_VERSION) != nullptr;
    if (ok) gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
  });
  return ok;
}

absl::StatusOr<GcryCipherPtr> OpenKeyed(int algo, int mode,
                                        const SecretBytes& key) {
  gcry_cipher_hd_t raw = nullptr;
  gcry_error_t err = gcry_cipher_open(&raw, algo, mode, 0);
  if (err != 0) {
    return GcryptError(absl::StatusCode::kInternal, "open cipher", err);
  }
  GcryCipherPtr handle(raw);
  err = gcry_cipher_setkey(handle.get(), key.data(), key.size());
  if (err != 0) {
    return GcryptError(absl::StatusCode::kInvalidArgument, "set key", err);
  }
  return handle;
}

}  // namespace

absl::Status GcryptError(absl::StatusCode code, absl::string_view what,
                         gcry_error_t err) {
  char text[128];
  gpg_strerror_r(err, text, sizeof(text));  // gcry_strerror is not thread-safe
  return absl::Status(code, absl::StrCat(what, ": ", text));
}

absl::StatusOr<std::unique_ptr<GcryCipherPool>> MakeGcryCipherPool(
    int algo, int mode, SecretBytes key) {
  if (!InitGcrypt()) {
    return absl::InternalError(absl::StrCat(
        "libgcrypt ", gcry_check_version(nullptr), " is older than ",
        GCRYPT_VERSION, ", the version dumpcrypt was built with"));
  }
  auto shared_key = std::make_shared<const SecretBytes>(std::move(key));
  auto pool = std::make_unique<GcryCipherPool>(
      [algo, mode, shared_key] { return OpenKeyed(algo, mode, *shared_key); });
  {
    // The first handle now, so that a bad key fails here, not in a read.
    absl::StatusOr<GcryCipherPool::Lease> first = pool->Acquire();
    if (!first.ok()) return first.status();
  }
  return pool;
}

}  // namespace dumpcrypt
