// Key slots: the ways to unwrap an envelope's data key, and their codec
// (docs/FORMAT.md, section 3). Nothing here needs a key; file_keys.h makes
// and opens slots.
#ifndef DUMPCRYPT_ENVELOPE_KEY_SLOT_H_
#define DUMPCRYPT_ENVELOPE_KEY_SLOT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "crypto/argon2.h"
#include "crypto/kdf.h"

namespace dumpcrypt {

inline constexpr size_t kMaxKeyIdSize = 255;
inline constexpr size_t kMaxProviderSize = 255;
// The most key slots a header may hold: a reader tries no more than these,
// whatever a crafted file says.
inline constexpr size_t kMaxSlots = 64;
// The wrapped data key of every known slot kind: RFC 5649 of 64 bytes.
inline constexpr size_t kWrappedKeySize = 72;

// KeyRef names a key-encryption key: the key provider and the keyID in it.
struct KeyRef {
  std::string provider;
  std::string key_id;
  bool operator==(const KeyRef&) const = default;
};

// ValidateKeyRef: keyID 1..255 bytes of UTF-8 without control characters;
// provider 0..255 bytes, the same. INVALID_ARGUMENT naming the field.
absl::Status ValidateKeyRef(const KeyRef& ref);

// KeyRefString formats a key reference for messages: keyID 'ID' (provider
// 'P'), or just keyID 'ID' when the provider is empty.
std::string KeyRefString(const KeyRef& ref);

// Slot kinds. A reader keeps a slot of a kind it does not know as it is and
// never opens the file with it.
inline constexpr uint8_t kSlotProviderKey = 1;  // a KEK a key provider holds
inline constexpr uint8_t kSlotPassword = 2;     // a KEK from Argon2id
inline constexpr uint8_t kSlotX25519 = 3;       // a KEK from X25519 + HKDF
inline constexpr uint8_t kSlotRsaOaep = 4;      // a KEK sealed with RSA-OAEP

// PasswordKdf is how a password slot derives its KEK: Argon2id version 0x13.
struct PasswordKdf {
  Argon2Cost cost;
  std::vector<uint8_t> salt;  // 16 to 64 bytes
  bool operator==(const PasswordKdf&) const = default;
};
inline constexpr size_t kPasswordSaltSize = 16;

// KeySlot holds the file's data key wrapped (RFC 5649) under one KEK, and
// what names or derives that KEK. The fields a kind does not use are empty.
struct KeySlot {
  uint8_t kind = kSlotProviderKey;
  KeyRef ref;                // provider key: which key
  PasswordKdf password;      // password: the KDF's parameters
  Sha256Digest recipient{};  // X25519, RSA-OAEP: the recipient's fingerprint
  // X25519: the sender's ephemeral public key (32 bytes); RSA-OAEP: the KEK
  // encrypted to the recipient (the modulus's size).
  std::vector<uint8_t> encapsulated;
  std::vector<uint8_t> wrapped_key;  // every known kind: 72 bytes
  std::vector<uint8_t> unknown;      // an unknown kind: its bytes after kind

  bool known() const {
    return kind >= kSlotProviderKey && kind <= kSlotRsaOaep;
  }
};

// EncodeSlot returns a slot record's value (kind first). INVALID_ARGUMENT
// for a slot that breaks a rule of the format.
absl::StatusOr<std::vector<uint8_t>> EncodeSlot(const KeySlot& slot);

// ParseSlot decodes a slot record's value. DATA_LOSS if a known kind's body
// is malformed (fields out of range, bytes missing or left over).
absl::StatusOr<KeySlot> ParseSlot(absl::Span<const uint8_t> value);

// SlotLabel names a slot for people: "keyID '44' (provider 'kms-a')",
// "password", "recipient X25519 sha256:<64 hex>", "unknown slot kind 9".
std::string SlotLabel(const KeySlot& slot);

// FingerprintText is "sha256:" and the 64 hex digits of `fp`.
std::string FingerprintText(const Sha256Digest& fp);

// SlotMatches tells whether `name` names `slot`: a provider key slot by its
// keyID, a password slot by "password", a recipient slot by its fingerprint
// ("sha256:" and at least 8 leading hex digits).
bool SlotMatches(const KeySlot& slot, absl::string_view name);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_ENVELOPE_KEY_SLOT_H_
