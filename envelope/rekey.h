// Re-keying: replacing an envelope's key slots without touching its data.
#ifndef DUMPCRYPT_ENVELOPE_REKEY_H_
#define DUMPCRYPT_ENVELOPE_REKEY_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"
#include "envelope/envelope_format.h"
#include "envelope/key_resolver.h"
#include "envelope/key_slot.h"

namespace dumpcrypt {

// SlotEdit returns the slots a file is to have, given the ones it has and
// its data key (to wrap new slots under).
using SlotEdit = std::function<absl::StatusOr<std::vector<KeySlot>>(
    const std::vector<KeySlot>& slots, const SecretBytes& data_key)>;

struct RekeyResult {
  std::vector<KeySlot> before;
  std::vector<KeySlot> after;
  // copied: the new header did not fit before the data, so the file was
  // written anew (data copied unchanged) and renamed over the old one.
  bool copied = false;
};

// RekeyPlan is an envelope opened for re-keying and its new head.
struct RekeyPlan {
  EnvelopeHeader before;  // as read (and authenticated)
  EnvelopeHeader after;   // with the new slots and its data_offset
  SecretBytes data_key;
  // head is the new header, its tag and the prefix; zeros follow up to
  // after.data_offset, then the units, unchanged.
  std::vector<uint8_t> head;
  uint64_t old_end = 0;       // where the old header and prefix end
  uint64_t units_offset = 0;  // the units in the old file: from here
  uint64_t units_length = 0;  // for this many bytes
  // in_place: the old and new header and prefix fit in the first page and
  // the data offset stays; else after.data_offset is the next aligned one.
  bool in_place = false;
};

// PlanRekey reads the envelope open as `fd`, opens it with `keys` (its
// header authenticated, its size checked) and asks `edit` for the new
// slots; nothing is written. Errors as RekeyEnvelope's.
absl::StatusOr<RekeyPlan> PlanRekey(int fd, KeyResolver& keys,
                                    const SlotEdit& edit);

// RekeyEnvelope opens the dumpcrypt envelope at `path` with `keys`
// (authenticating its header and checking its size), asks `edit` for the
// new slots, and writes the new header. Where the old and new header and
// the prefix lie within the first 4096 bytes, that page is rewritten with
// one write, which a crash or kill finds done or not done; otherwise a new
// file is written beside it and renamed over it. Either way the old file
// or the new one is found, never a mix, and the new header is read back and
// authenticated before this returns. The file is locked (flock) meanwhile.
//
// INVALID_ARGUMENT: not a dumpcrypt envelope, or `edit` refused; ABORTED:
// another process is re-keying it; the causes of opening an envelope
// (UNAUTHENTICATED, UNAVAILABLE, DATA_LOSS) otherwise. Messages do not
// name `path`.
absl::StatusOr<RekeyResult> RekeyEnvelope(const std::string& path,
                                          KeyResolver& keys,
                                          const SlotEdit& edit);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_ENVELOPE_REKEY_H_
