#include "envelope/key_slot.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/bytes.h"
#include "base/status_macros.h"
#include "base/utf8.h"
#include "envelope/byte_codec.h"

namespace dumpcrypt {
namespace {

constexpr uint8_t kKdfArgon2id = 1;

absl::Status CheckSlot(const KeySlot& slot) {
  if (!slot.known()) {
    if (slot.unknown.size() > 0xfffe)
      return absl::InvalidArgumentError("slot is over 64 KiB");
    return absl::OkStatus();
  }
  if (slot.wrapped_key.size() != kWrappedKeySize) {
    return absl::InvalidArgumentError("wrapped key must be 72 bytes");
  }
  switch (slot.kind) {
    case kSlotProviderKey:
      return ValidateKeyRef(slot.ref);
    case kSlotPassword:
      DC_RETURN_IF_ERROR(ValidateArgon2Cost(slot.password.cost));
      if (slot.password.salt.size() < 16 || slot.password.salt.size() > 64)
        return absl::InvalidArgumentError(
            "password salt must be 16 to 64 bytes");
      return absl::OkStatus();
    case kSlotX25519:
      if (slot.encapsulated.size() != 32)
        return absl::InvalidArgumentError("X25519 slot needs a 32-byte key");
      return absl::OkStatus();
    default:  // kSlotRsaOaep
      if (slot.encapsulated.size() < 256 || slot.encapsulated.size() > 2048)
        return absl::InvalidArgumentError(
            "RSA-OAEP slot needs 256 to 2048 bytes");
      return absl::OkStatus();
  }
}

}  // namespace

absl::Status ValidateKeyRef(const KeyRef& ref) {
  DC_RETURN_IF_ERROR(ValidateText("keyID", ref.key_id, 1, kMaxKeyIdSize));
  return ValidateText("provider name", ref.provider, 0, kMaxProviderSize);
}

std::string KeyRefString(const KeyRef& ref) {
  if (ref.provider.empty()) return absl::StrCat("keyID '", ref.key_id, "'");
  return absl::StrCat("keyID '", ref.key_id, "' (provider '", ref.provider,
                      "')");
}

absl::StatusOr<std::vector<uint8_t>> EncodeSlot(const KeySlot& slot) {
  DC_RETURN_IF_ERROR(CheckSlot(slot));
  ByteWriter v;
  v.U8(slot.kind);
  switch (slot.kind) {
    case kSlotProviderKey:
      v.U8(static_cast<uint8_t>(slot.ref.provider.size()));
      v.Str(slot.ref.provider);
      v.U8(static_cast<uint8_t>(slot.ref.key_id.size()));
      v.Str(slot.ref.key_id);
      break;
    case kSlotPassword:
      v.U8(kKdfArgon2id);
      v.U32(slot.password.cost.time);
      v.U32(slot.password.cost.memory_kib);
      v.U8(static_cast<uint8_t>(slot.password.cost.lanes));
      v.U8(static_cast<uint8_t>(slot.password.salt.size()));
      v.Bytes(slot.password.salt);
      break;
    case kSlotX25519:
      v.Bytes(slot.recipient);
      v.Bytes(slot.encapsulated);
      break;
    case kSlotRsaOaep:
      v.Bytes(slot.recipient);
      v.U16(static_cast<uint16_t>(slot.encapsulated.size()));
      v.Bytes(slot.encapsulated);
      break;
    default:
      v.Bytes(slot.unknown);
      return std::move(v.out());
  }
  v.U8(static_cast<uint8_t>(slot.wrapped_key.size()));
  v.Bytes(slot.wrapped_key);
  return std::move(v.out());
}

absl::StatusOr<KeySlot> ParseSlot(absl::Span<const uint8_t> value) {
  ByteReader v(value);
  KeySlot slot;
  slot.kind = v.U8();
  auto assign = [](std::vector<uint8_t>& to, absl::Span<const uint8_t> from) {
    to.assign(from.begin(), from.end());
  };
  switch (slot.kind) {
    case kSlotProviderKey:
      slot.ref.provider = v.Str(v.U8());
      slot.ref.key_id = v.Str(v.U8());
      break;
    case kSlotPassword:
      if (v.U8() != kKdfArgon2id)
        return absl::DataLossError("password slot names an unknown KDF");
      slot.password.cost.time = v.U32();
      slot.password.cost.memory_kib = v.U32();
      slot.password.cost.lanes = v.U8();
      assign(slot.password.salt, v.Bytes(v.U8()));
      break;
    case kSlotX25519: {
      auto fp = v.Bytes(slot.recipient.size());
      std::copy(fp.begin(), fp.end(), slot.recipient.begin());
      assign(slot.encapsulated, v.Bytes(32));
      break;
    }
    case kSlotRsaOaep: {
      auto fp = v.Bytes(slot.recipient.size());
      std::copy(fp.begin(), fp.end(), slot.recipient.begin());
      assign(slot.encapsulated, v.Bytes(v.U16()));
      break;
    }
    default:
      if (v.failed()) return absl::DataLossError("key slot record is empty");
      assign(slot.unknown, value.subspan(1));
      return slot;
  }
  assign(slot.wrapped_key, v.Bytes(v.U8()));
  if (v.failed() || !v.done() || !CheckSlot(slot).ok()) {
    return absl::DataLossError(
        absl::StrCat("key slot record (kind ", slot.kind, ") is malformed"));
  }
  return slot;
}

std::string FingerprintText(const Sha256Digest& fp) {
  return absl::StrCat("sha256:", HexEncode(fp));
}

std::string SlotLabel(const KeySlot& slot) {
  switch (slot.kind) {
    case kSlotProviderKey:
      return KeyRefString(slot.ref);
    case kSlotPassword:
      return "password";
    case kSlotX25519:
      return absl::StrCat("recipient X25519 ", FingerprintText(slot.recipient));
    case kSlotRsaOaep:
      return absl::StrCat("recipient RSA-OAEP ",
                          FingerprintText(slot.recipient));
    default:
      return absl::StrCat("unknown slot kind ", slot.kind);
  }
}

bool SlotMatches(const KeySlot& slot, absl::string_view name) {
  switch (slot.kind) {
    case kSlotProviderKey:
      return slot.ref.key_id == name;
    case kSlotPassword:
      return name == "password";
    case kSlotX25519:
    case kSlotRsaOaep:
      return name.size() >= 15 && absl::StartsWith(name, "sha256:") &&
             absl::StartsWithIgnoreCase(FingerprintText(slot.recipient), name);
    default:
      return false;
  }
}

}  // namespace dumpcrypt
