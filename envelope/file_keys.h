// The keys of one envelope. A random 64-byte data key is stored only
// wrapped in key slots; from it and the file id, HKDF-SHA-256 derives the
// XTS key, the sector tag key and the header MAC key (docs/FORMAT.md).
#ifndef DUMPCRYPT_ENVELOPE_FILE_KEYS_H_
#define DUMPCRYPT_ENVELOPE_FILE_KEYS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crypto/kdf.h"
#include "crypto/secret_bytes.h"
#include "crypto/sector_tags.h"
#include "crypto/xts_cipher.h"
#include "envelope/envelope_format.h"

namespace dumpcrypt {

struct FileKeys {
  std::unique_ptr<XtsSectorCipher> xts;
  std::unique_ptr<SectorTagger> tagger;  // null without integrity
  SecretBytes header_key;
};

// DeriveFileKeys derives the keys of the file whose header is `header`
// from its 64-byte `data_key`. INVALID_ARGUMENT for a bad data key size
// or a derived XTS key with equal halves.
absl::StatusOr<FileKeys> DeriveFileKeys(const SecretBytes& data_key,
                                        const EnvelopeHeader& header,
                                        XtsSectorCipher::Direction direction);

// HeaderTag computes the header tag: HMAC-SHA-256 under the header key over
// the header bytes before the tag, then the cleartext prefix.
absl::StatusOr<Sha256Digest> HeaderTag(const SecretBytes& header_key,
                                       absl::Span<const uint8_t> header_body,
                                       absl::Span<const uint8_t> prefix);

// UnwrapDataKey unwraps the data key in `slot` with `kek` (32 bytes).
// UNAUTHENTICATED if `kek` is not the slot's key or the slot was changed;
// INVALID_ARGUMENT for a KEK of the wrong size.
absl::StatusOr<SecretBytes> UnwrapDataKey(const KeySlot& slot,
                                          const SecretBytes& kek);

// MakeKeySlot wraps `data_key` under `kek` into a slot naming `ref`.
absl::StatusOr<KeySlot> MakeKeySlot(const KeyRef& ref, const SecretBytes& kek,
                                    const SecretBytes& data_key);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_ENVELOPE_FILE_KEYS_H_
