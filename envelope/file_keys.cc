#include "envelope/file_keys.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/status_macros.h"
#include "crypto/argon2.h"
#include "crypto/key_wrap.h"

namespace dumpcrypt {
namespace {

constexpr absl::string_view kXtsInfo = "dumpcrypt v1 xts key";
constexpr absl::string_view kTagInfo = "dumpcrypt v1 sector tag key";
constexpr absl::string_view kHeaderInfo = "dumpcrypt v1 header key";
constexpr absl::string_view kX25519Info = "dumpcrypt v1 x25519 slot";

// X25519SlotKek is HKDF-SHA-256 of the shared secret, salted with the
// ephemeral then the recipient's public key.
absl::StatusOr<SecretBytes> X25519SlotKek(
    const SecretBytes& shared, absl::Span<const uint8_t> ephemeral,
    const std::array<uint8_t, kX25519Size>& recipient) {
  std::vector<uint8_t> salt(ephemeral.begin(), ephemeral.end());
  salt.insert(salt.end(), recipient.begin(), recipient.end());
  return HkdfSha256(shared.span(), salt, AsBytes(kX25519Info), kKekSize);
}

}  // namespace

absl::StatusOr<FileKeys> DeriveFileKeys(const SecretBytes& data_key,
                                        const EnvelopeHeader& header,
                                        XtsSectorCipher::Direction direction) {
  if (data_key.size() != kDataKeySize) {
    return absl::InvalidArgumentError("data key must be 64 bytes");
  }
  FileKeys keys;
  DC_ASSIGN_OR_RETURN(SecretBytes xts_key,
                      HkdfSha256(data_key.span(), header.file_id,
                                 AsBytes(kXtsInfo), XtsSectorCipher::kKeySize));
  DC_ASSIGN_OR_RETURN(keys.xts,
                      XtsSectorCipher::Create(std::move(xts_key), direction));
  if (header.integrity) {
    DC_ASSIGN_OR_RETURN(
        SecretBytes tag_key,
        HkdfSha256(data_key.span(), header.file_id, AsBytes(kTagInfo), 32));
    DC_ASSIGN_OR_RETURN(keys.tagger, SectorTagger::Create(std::move(tag_key)));
  }
  DC_ASSIGN_OR_RETURN(
      keys.header_key,
      HkdfSha256(data_key.span(), header.file_id, AsBytes(kHeaderInfo), 32));
  return keys;
}

absl::StatusOr<Sha256Digest> HeaderTag(const SecretBytes& header_key,
                                       absl::Span<const uint8_t> header_body,
                                       absl::Span<const uint8_t> prefix) {
  return HmacSha256(header_key, {header_body, prefix});
}

absl::StatusOr<SecretBytes> UnwrapDataKey(const KeySlot& slot,
                                          const SecretBytes& kek) {
  if (kek.size() != kKekSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the key of ", SlotLabel(slot), " is ", kek.size(), " bytes, not 32"));
  }
  DC_ASSIGN_OR_RETURN(SecretBytes data_key, UnwrapKey(kek, slot.wrapped_key));
  if (data_key.size() != kDataKeySize) {
    return absl::DataLossError("unwrapped data key is not 64 bytes");
  }
  return data_key;
}

absl::StatusOr<KeySlot> MakeKeySlot(const KeyRef& ref, const SecretBytes& kek,
                                    const SecretBytes& data_key) {
  DC_RETURN_IF_ERROR(ValidateKeyRef(ref));
  if (kek.size() != kKekSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("key ", ref.key_id, " is ", kek.size(), " bytes, not 32"));
  }
  KeySlot slot;
  slot.kind = kSlotProviderKey;
  slot.ref = ref;
  DC_ASSIGN_OR_RETURN(slot.wrapped_key, WrapKey(kek, data_key));
  return slot;
}

absl::StatusOr<PasswordKdf> NewPasswordKdf(const Argon2Cost& cost) {
  DC_RETURN_IF_ERROR(ValidateArgon2Cost(cost));
  DC_ASSIGN_OR_RETURN(SecretBytes salt, SecretBytes::Random(kPasswordSaltSize));
  return PasswordKdf{cost, {salt.span().begin(), salt.span().end()}};
}

absl::StatusOr<SecretBytes> PasswordKek(absl::Span<const uint8_t> password,
                                        const PasswordKdf& kdf) {
  return Argon2id(password, kdf.salt, kdf.cost, kKekSize);
}

absl::StatusOr<KeySlot> MakePasswordSlot(const PasswordKdf& kdf,
                                         const SecretBytes& kek,
                                         const SecretBytes& data_key) {
  KeySlot slot;
  slot.kind = kSlotPassword;
  slot.password = kdf;
  DC_ASSIGN_OR_RETURN(slot.wrapped_key, WrapKey(kek, data_key));
  return slot;
}

absl::StatusOr<KeySlot> MakeRecipientSlot(const PublicKey& recipient,
                                          const SecretBytes& data_key) {
  KeySlot slot;
  slot.recipient = recipient.fingerprint();
  SecretBytes kek;
  if (recipient.type() == KeyType::kX25519) {
    slot.kind = kSlotX25519;
    DC_ASSIGN_OR_RETURN(PrivateKey ephemeral,
                        PrivateKey::Generate(KeyType::kX25519));
    DC_ASSIGN_OR_RETURN(auto ephemeral_raw, ephemeral.public_key().RawX25519());
    DC_ASSIGN_OR_RETURN(auto recipient_raw, recipient.RawX25519());
    DC_ASSIGN_OR_RETURN(SecretBytes shared, X25519Agree(ephemeral, recipient));
    DC_ASSIGN_OR_RETURN(kek,
                        X25519SlotKek(shared, ephemeral_raw, recipient_raw));
    slot.encapsulated.assign(ephemeral_raw.begin(), ephemeral_raw.end());
  } else {
    slot.kind = kSlotRsaOaep;
    DC_ASSIGN_OR_RETURN(kek, SecretBytes::Random(kKekSize));
    DC_ASSIGN_OR_RETURN(slot.encapsulated,
                        RsaOaepEncrypt(recipient, kek.span()));
  }
  DC_ASSIGN_OR_RETURN(slot.wrapped_key, WrapKey(kek, data_key));
  return slot;
}

absl::StatusOr<SecretBytes> RecipientKek(const KeySlot& slot,
                                         const PrivateKey& identity) {
  const PublicKey& mine = identity.public_key();
  const bool x25519 = slot.kind == kSlotX25519;
  if ((!x25519 && slot.kind != kSlotRsaOaep) ||
      slot.recipient != mine.fingerprint() ||
      (mine.type() == KeyType::kX25519) != x25519) {
    return absl::NotFoundError(
        absl::StrCat("no identity for ", SlotLabel(slot)));
  }
  if (!x25519) {
    absl::StatusOr<SecretBytes> kek =
        RsaOaepDecrypt(identity, slot.encapsulated);
    if (!kek.ok() || kek->size() != kKekSize) {
      return absl::UnauthenticatedError(
          "the slot does not open with this identity (damaged or changed)");
    }
    return kek;
  }
  DC_ASSIGN_OR_RETURN(PublicKey ephemeral,
                      PublicKey::FromX25519(slot.encapsulated));
  absl::StatusOr<SecretBytes> shared = X25519Agree(identity, ephemeral);
  if (!shared.ok()) {
    return absl::UnauthenticatedError(
        "the slot's ephemeral key is invalid (damaged or changed)");
  }
  DC_ASSIGN_OR_RETURN(auto mine_raw, mine.RawX25519());
  return X25519SlotKek(*shared, slot.encapsulated, mine_raw);
}

}  // namespace dumpcrypt
