// Opening envelopes with keys from a KeyResolver, and the causes of a
// failure to: no usable key (UNAUTHENTICATED) or a key source out of reach
// (UNAVAILABLE).
#ifndef DUMPCRYPT_ENVELOPE_ENVELOPE_OPENER_H_
#define DUMPCRYPT_ENVELOPE_ENVELOPE_OPENER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"
#include "envelope/envelope.h"
#include "envelope/envelope_format.h"
#include "envelope/key_resolver.h"

namespace dumpcrypt {

// AsKeyFailure gives a key source's failure its cause, keeping the message:
// UNAVAILABLE and DEADLINE_EXCEEDED become UNAVAILABLE (the source could not
// be reached; a retry may help); every other code, UNAUTHENTICATED (there is
// no usable key: not found, refused, not usable, or the source is broken).
// The source's own code is kept for KeySourceCode.
absl::Status AsKeyFailure(const absl::Status& status);

// KeySourceCode is the code a key source gave for a failure AsKeyFailure
// classified (NOT_FOUND, PERMISSION_DENIED, ...), else status.code():
// UNAUTHENTICATED alone means a key was found but does not open the file.
absl::StatusCode KeySourceCode(const absl::Status& status);

// UnlockDataKey tries the key slots of `header` in order (each distinct key
// reference once; slots of unknown kinds never) and returns the first data
// key that unwraps. On failure, UNAVAILABLE if some slot's key source could
// not be reached (its message), else UNAUTHENTICATED with the cause of the
// first slot whose key was found but did not open it, else of the first
// slot; messages start with the slot's SlotLabel.
absl::StatusOr<SecretBytes> UnlockDataKey(const EnvelopeHeader& header,
                                          KeyResolver& resolver);

// OpenEnvelopeFile opens `path` read-only, probes it and opens the envelope
// with `resolver` under `policy`. Every error message starts with `path`.
// INVALID_ARGUMENT: not an envelope; otherwise the causes of Envelope::Open.
absl::StatusOr<std::unique_ptr<EnvelopeView>> OpenEnvelopeFile(
    const std::string& path, KeyResolver& resolver,
    const OpenPolicy& policy = {}, const ProbeOptions& probe = {});

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_ENVELOPE_ENVELOPE_OPENER_H_
