#include "envelope/envelope_opener.h"

#include <fcntl.h>

#include "absl/algorithm/container.h"
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

absl::StatusOr<SecretBytes> UnlockDataKey(const EnvelopeHeader& header,
                                          KeyResolver& resolver) {
  absl::Status first_error, wrong_key, unreachable;
  std::vector<const KeyRef*> failed_refs;
  for (const KeySlot& slot : header.slots) {
    if (!slot.known()) continue;
    const bool by_ref = slot.kind == kSlotProviderKey;
    if (by_ref && absl::c_any_of(failed_refs, [&](const KeyRef* r) {
          return *r == slot.ref;
        })) {
      continue;
    }
    absl::StatusOr<SecretBytes> kek =
        by_ref ? resolver.Resolve(slot.ref) : resolver.SlotKek(slot);
    if (!kek.ok() && by_ref) failed_refs.push_back(&slot.ref);
    absl::StatusOr<SecretBytes> data_key =
        kek.ok() ? UnwrapDataKey(slot, *kek) : AsKeyFailure(kek.status());
    if (data_key.ok()) return data_key;
    const absl::Status status =
        Prefix(AsKeyFailure(data_key.status()), SlotLabel(slot));
    if (first_error.ok()) first_error = status;
    if (kek.ok() && wrong_key.ok()) wrong_key = status;
    if (absl::IsUnavailable(status) && unreachable.ok()) unreachable = status;
  }
  if (!unreachable.ok()) return unreachable;
  if (!wrong_key.ok()) return wrong_key;
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
