#include "envelope/envelope_opener.h"

#include "absl/strings/str_cat.h"
#include "base/file_io.h"
#include "base/status_macros.h"
#include "envelope/file_keys.h"

namespace dumpcrypt {

bool IsKeyUnavailable(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kUnauthenticated:
      return true;
    default:
      return false;
  }
}

std::string KeyRefString(const KeyRef& ref) {
  if (ref.provider.empty()) return absl::StrCat("keyID '", ref.key_id, "'");
  return absl::StrCat("keyID '", ref.key_id, "' (provider '", ref.provider,
                      "')");
}

absl::StatusOr<SecretBytes> UnlockDataKey(const EnvelopeHeader& header,
                                          KeyResolver& resolver) {
  absl::Status first_error;
  for (const KeySlot& slot : header.slots) {
    if (slot.kind != kSlotProviderKey) continue;
    absl::StatusOr<SecretBytes> data_key =
        [&]() -> absl::StatusOr<SecretBytes> {
      DC_ASSIGN_OR_RETURN(SecretBytes kek, resolver.Resolve(slot.ref));
      return UnwrapDataKey(slot, kek);
    }();
    if (data_key.ok()) return data_key;
    if (first_error.ok()) {
      first_error = Prefix(data_key.status(), KeyRefString(slot.ref));
    }
  }
  if (first_error.ok()) {
    return absl::FailedPreconditionError("no key slot this tool can open");
  }
  return first_error;
}

absl::StatusOr<std::unique_ptr<EnvelopeReader>> OpenEnvelopeFile(
    const std::string& path, KeyResolver& resolver) {
  auto reader = [&]() -> absl::StatusOr<std::unique_ptr<EnvelopeReader>> {
    DC_ASSIGN_OR_RETURN(UniqueFd fd, OpenReadOnly(path));
    DC_ASSIGN_OR_RETURN(EnvelopeHeader header, ReadHeader(fd.get()));
    DC_ASSIGN_OR_RETURN(SecretBytes data_key, UnlockDataKey(header, resolver));
    return EnvelopeReader::Open(std::move(fd), std::move(header), data_key);
  }();
  if (!reader.ok()) return Prefix(reader.status(), path);
  return reader;
}

}  // namespace dumpcrypt
