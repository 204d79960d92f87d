#include "envelope/envelope_opener.h"

#include <fcntl.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/file_io.h"
#include "base/status_macros.h"
#include "envelope/file_keys.h"

namespace dumpcrypt {

namespace {

constexpr absl::string_view kSourceCodeUrl = "dumpcrypt/key-source-code";

}  // namespace

absl::Status AsKeyFailure(const absl::Status& status) {
  absl::Status out;
  switch (status.code()) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kUnavailable:
      return status;
    case absl::StatusCode::kDeadlineExceeded:
      out = absl::UnavailableError(status.message());
      break;
    default:
      out = absl::UnauthenticatedError(status.message());
      break;
  }
  out.SetPayload(kSourceCodeUrl,
                 absl::Cord(absl::StrCat(static_cast<int>(status.code()))));
  return out;
}

absl::StatusCode KeySourceCode(const absl::Status& status) {
  absl::optional<absl::Cord> code = status.GetPayload(kSourceCodeUrl);
  int value = 0;
  if (!code.has_value() || !absl::SimpleAtoi(std::string(*code), &value))
    return status.code();
  return static_cast<absl::StatusCode>(value);
}

std::string KeyRefString(const KeyRef& ref) {
  if (ref.provider.empty()) return absl::StrCat("keyID '", ref.key_id, "'");
  return absl::StrCat("keyID '", ref.key_id, "' (provider '", ref.provider,
                      "')");
}

absl::StatusOr<SecretBytes> UnlockDataKey(const EnvelopeHeader& header,
                                          KeyResolver& resolver) {
  absl::Status first_error;
  absl::Status unreachable;
  for (const KeySlot& slot : header.slots) {
    if (slot.kind != kSlotProviderKey) continue;
    absl::StatusOr<SecretBytes> kek = resolver.Resolve(slot.ref);
    absl::StatusOr<SecretBytes> data_key =
        kek.ok() ? UnwrapDataKey(slot, *kek) : AsKeyFailure(kek.status());
    if (data_key.ok()) return data_key;
    const absl::Status status =
        Prefix(AsKeyFailure(data_key.status()), KeyRefString(slot.ref));
    if (first_error.ok()) first_error = status;
    if (absl::IsUnavailable(status) && unreachable.ok()) unreachable = status;
  }
  if (!unreachable.ok()) return unreachable;
  if (first_error.ok()) {
    return absl::UnauthenticatedError("no key slot this tool can open");
  }
  return first_error;
}

absl::StatusOr<std::unique_ptr<EnvelopeView>> OpenEnvelopeFile(
    const std::string& path, KeyResolver& resolver, const OpenPolicy& policy,
    const ProbeOptions& probe) {
  auto view = [&]() -> absl::StatusOr<std::unique_ptr<EnvelopeView>> {
    DC_ASSIGN_OR_RETURN(UniqueFd fd, OpenReadOnly(path, O_NONBLOCK));
    DC_RETURN_IF_ERROR(RequireRegularFile(fd.get()));
    DC_ASSIGN_OR_RETURN(Probed probed, ProbeEnvelope(fd.get(), probe));
    if (probed.is_damaged()) return probed.damage;
    if (!probed.is_envelope()) return NotAnEnvelopeError();
    return probed.envelope->Open(std::move(fd), resolver, policy);
  }();
  if (!view.ok()) return Prefix(view.status(), path);
  return view;
}

}  // namespace dumpcrypt
