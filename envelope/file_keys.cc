#include "envelope/file_keys.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/status_macros.h"
#include "crypto/key_wrap.h"

namespace dumpcrypt {
namespace {

constexpr absl::string_view kXtsInfo = "dumpcrypt v1 xts key";
constexpr absl::string_view kTagInfo = "dumpcrypt v1 sector tag key";
constexpr absl::string_view kHeaderInfo = "dumpcrypt v1 header key";

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
        "key ", slot.ref.key_id, " is ", kek.size(), " bytes, not 32"));
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

}  // namespace dumpcrypt
