// The keys of one envelope. A random 64-byte data key is stored only
// wrapped in key slots; from it and the file id, HKDF-SHA-256 derives the
// XTS key, the sector tag key and the header MAC key (docs/FORMAT.md).
#ifndef DUMPCRYPT_ENVELOPE_FILE_KEYS_H_
#define DUMPCRYPT_ENVELOPE_FILE_KEYS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crypto/kdf.h"
#include "crypto/public_key.h"
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

// UnwrapDataKey unwraps the data key in `slot`, of any known kind, with its
// `kek` (32 bytes).
// UNAUTHENTICATED if `kek` is not the slot's key or the slot was changed;
// INVALID_ARGUMENT for a KEK of the wrong size.
absl::StatusOr<SecretBytes> UnwrapDataKey(const KeySlot& slot,
                                          const SecretBytes& kek);

// PasswordKdfFor returns a password slot's KDF with `cost` and a new random
// salt. INVALID_ARGUMENT for a cost out of bounds.
absl::StatusOr<PasswordKdf> NewPasswordKdf(const Argon2Cost& cost);

// PasswordKek derives the KEK of a password slot with `kdf` from
// `password`: Argon2id, 32 bytes. RESOURCE_EXHAUSTED if the memory the KDF
// asks for cannot be had.
absl::StatusOr<SecretBytes> PasswordKek(absl::Span<const uint8_t> password,
                                        const PasswordKdf& kdf);

// MakePasswordSlot wraps `data_key` under `kek`, which PasswordKek derived
// with `kdf`, into a password slot. Several files may share one kdf (and so
// one derivation).
absl::StatusOr<KeySlot> MakePasswordSlot(const PasswordKdf& kdf,
                                         const SecretBytes& kek,
                                         const SecretBytes& data_key);

// MakeRecipientSlot wraps `data_key` to `recipient`'s public key: an X25519
// slot (an ephemeral key, HKDF of the shared secret) or an RSA-OAEP slot (a
// random KEK encrypted to the key).
absl::StatusOr<KeySlot> MakeRecipientSlot(const PublicKey& recipient,
                                          const SecretBytes& data_key);

// RecipientKek recovers the KEK of a recipient slot with the private key
// `identity`. NOT_FOUND if the slot is for another key's fingerprint;
// UNAUTHENTICATED if the slot does not open with it (changed or damaged).
absl::StatusOr<SecretBytes> RecipientKek(const KeySlot& slot,
                                         const PrivateKey& identity);

// MakeKeySlot wraps `data_key` under `kek` into a slot naming `ref`.
absl::StatusOr<KeySlot> MakeKeySlot(const KeyRef& ref, const SecretBytes& kek,
                                    const SecretBytes& data_key);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_ENVELOPE_FILE_KEYS_H_
