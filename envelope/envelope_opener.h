// Opening an envelope file with keys from a KeyResolver.
#ifndef DUMPCRYPT_ENVELOPE_ENVELOPE_OPENER_H_
#define DUMPCRYPT_ENVELOPE_ENVELOPE_OPENER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"
#include "envelope/envelope_format.h"
#include "envelope/envelope_reader.h"
#include "envelope/key_resolver.h"

namespace dumpcrypt {

// UnlockDataKey tries the key slots of `header` in order and returns the
// first data key that unwraps. On failure, the status of the first slot,
// its message naming provider and keyID: the resolver's code, or
// UNAUTHENTICATED when the resolved key does not unwrap the slot.
absl::StatusOr<SecretBytes> UnlockDataKey(const EnvelopeHeader& header,
                                          KeyResolver& resolver);

// OpenEnvelopeFile opens `path` read-only, reads its header, unlocks its
// data key with `resolver` and returns a reader (EnvelopeReader::Open).
// Every error message starts with `path`. FAILED_PRECONDITION: not an
// envelope; key errors as UnlockDataKey; DATA_LOSS as EnvelopeReader::Open.
absl::StatusOr<std::unique_ptr<EnvelopeReader>> OpenEnvelopeFile(
    const std::string& path, KeyResolver& resolver);

// KeyRefString formats a key reference for messages: keyID 'ID' (provider
// 'P'), or just keyID 'ID' when the provider is empty.
std::string KeyRefString(const KeyRef& ref);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_ENVELOPE_ENVELOPE_OPENER_H_
