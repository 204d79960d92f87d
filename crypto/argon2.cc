#include "crypto/argon2.h"

#include <argon2.h>

#include "absl/strings/str_cat.h"

namespace dumpcrypt {

absl::Status ValidateArgon2Cost(const Argon2Cost& cost) {
  if (cost.time < 1 || cost.time > kArgon2MaxTime) {
    return absl::InvalidArgumentError(
        absl::StrCat("Argon2id passes must be 1 to ", kArgon2MaxTime));
  }
  if (cost.lanes < 1 || cost.lanes > kArgon2MaxLanes) {
    return absl::InvalidArgumentError(
        absl::StrCat("Argon2id lanes must be 1 to ", kArgon2MaxLanes));
  }
  if (cost.memory_kib < 8 * cost.lanes ||
      cost.memory_kib > kArgon2MaxMemoryKib) {
    return absl::InvalidArgumentError(
        "Argon2id memory must be 8 KiB per lane to 4 GiB");
  }
  return absl::OkStatus();
}

absl::StatusOr<SecretBytes> Argon2id(absl::Span<const uint8_t> password,
                                     absl::Span<const uint8_t> salt,
                                     const Argon2Cost& cost, size_t length) {
  if (auto status = ValidateArgon2Cost(cost); !status.ok()) return status;
  if (salt.size() < 8 || salt.size() > 64 || length < 4 || length > 1024) {
    return absl::InvalidArgumentError("Argon2id salt or output size");
  }
  SecretBytes out(length);
  const int rc = argon2id_hash_raw(
      cost.time, cost.memory_kib, cost.lanes, password.data(), password.size(),
      salt.data(), salt.size(), out.data(), out.size());
  if (rc == ARGON2_MEMORY_ALLOCATION_ERROR) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "Argon2id needs ", cost.memory_kib / 1024, " MiB of memory"));
  }
  if (rc != ARGON2_OK) {
    return absl::InternalError(
        absl::StrCat("Argon2id: ", argon2_error_message(rc)));
  }
  return out;
}

}  // namespace dumpcrypt
