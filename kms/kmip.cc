#include "kms/kmip.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace dumpcrypt::kmip {
namespace {

constexpr uint32_t kObjectTypeSymmetricKey = 2;
constexpr uint32_t kKeyFormatRaw = 1;
constexpr uint32_t kAlgorithmAes = 3;
constexpr uint32_t kNameTypeText = 1;
constexpr int32_t kUsageEncryptDecrypt = 0x04 | 0x08;

Ttlv Attribute(const std::string& name, Ttlv value) {
  return Ttlv::Structure(
      kAttribute, {Ttlv::TextString(kAttributeName, name), std::move(value)});
}

Ttlv NameAttribute(const std::string& name) {
  return Attribute(
      "Name", Ttlv::Structure(kAttributeValue,
                              {Ttlv::TextString(kNameValue, name),
                               Ttlv::Enumeration(kNameType, kNameTypeText)}));
}

std::vector<Ttlv> Aes256Attributes(const std::string& name) {
  return {
      Attribute("Cryptographic Algorithm",
                Ttlv::Enumeration(kAttributeValue, kAlgorithmAes)),
      Attribute("Cryptographic Length", Ttlv::Integer(kAttributeValue, 256)),
      Attribute("Cryptographic Usage Mask",
                Ttlv::Integer(kAttributeValue, kUsageEncryptDecrypt)),
      NameAttribute(name),
  };
}

}  // namespace

std::string KeyStateName(KeyState state) {
  switch (state) {
    case KeyState::kPreActive:
      return "Pre-Active";
    case KeyState::kActive:
      return "Active";
    case KeyState::kDeactivated:
      return "Deactivated";
    case KeyState::kCompromised:
      return "Compromised";
    case KeyState::kDestroyed:
      return "Destroyed";
    case KeyState::kDestroyedCompromised:
      return "Destroyed Compromised";
  }
  return absl::StrCat("state ", static_cast<uint32_t>(state));
}

Ttlv Request(std::vector<Item> items) {
  std::vector<Ttlv> message = {Ttlv::Structure(
      kRequestHeader,
      {Ttlv::Structure(kProtocolVersion,
                       {Ttlv::Integer(kProtocolVersionMajor, 1),
                        Ttlv::Integer(kProtocolVersionMinor, 2)}),
       Ttlv::Integer(kBatchCount, static_cast<int32_t>(items.size()))})};
  for (size_t i = 0; i < items.size(); ++i) {
    std::vector<Ttlv> item = {
        Ttlv::Enumeration(kOperation, items[i].operation)};
    if (items.size() > 1) {
      item.push_back(Ttlv::ByteString(kUniqueBatchItemId,
                                      std::string(1, static_cast<char>(i))));
    }
    item.push_back(
        Ttlv::Structure(kRequestPayload, std::move(items[i].payload)));
    message.push_back(Ttlv::Structure(kBatchItem, std::move(item)));
  }
  return Ttlv::Structure(kRequestMessage, std::move(message));
}

Ttlv Request(Operation operation, std::vector<Ttlv> payload) {
  std::vector<Item> items;
  items.push_back({operation, std::move(payload)});
  return Request(std::move(items));
}

std::vector<Ttlv> GetPayload(const std::string& id) {
  return {Ttlv::TextString(kUniqueIdentifier, id),
          Ttlv::Enumeration(kKeyFormatType, kKeyFormatRaw)};
}

std::vector<Ttlv> GetStatePayload(const std::string& id) {
  return {Ttlv::TextString(kUniqueIdentifier, id),
          Ttlv::TextString(kAttributeName, "State")};
}

std::vector<Ttlv> LocateByNamePayload(const std::string& name) {
  return {NameAttribute(name)};
}

std::vector<Ttlv> CreateAes256Payload(const std::string& name) {
  return {Ttlv::Enumeration(kObjectType, kObjectTypeSymmetricKey),
          Ttlv::Structure(kTemplateAttribute, Aes256Attributes(name))};
}

std::vector<Ttlv> RegisterAes256Payload(const std::string& name,
                                        const std::string& key) {
  Ttlv block = Ttlv::Structure(
      kKeyBlock,
      {Ttlv::Enumeration(kKeyFormatType, kKeyFormatRaw),
       Ttlv::Structure(kKeyValue, {Ttlv::ByteString(kKeyMaterial, key)}),
       Ttlv::Enumeration(kCryptographicAlgorithm, kAlgorithmAes),
       Ttlv::Integer(kCryptographicLength, 256)});
  return {Ttlv::Enumeration(kObjectType, kObjectTypeSymmetricKey),
          Ttlv::Structure(kTemplateAttribute, Aes256Attributes(name)),
          Ttlv::Structure(kSymmetricKey, {std::move(block)})};
}

std::vector<Ttlv> ActivatePayload(const std::string& id) {
  return {Ttlv::TextString(kUniqueIdentifier, id)};
}

absl::StatusOr<std::vector<Reply>> ParseResponses(
    const Ttlv& message, const std::vector<Operation>& operations) {
  if (message.tag() != kResponseMessage ||
      message.type() != TtlvType::kStructure) {
    return absl::InvalidArgumentError("not a KMIP response message");
  }
  const Ttlv* major = message.FindPath(
      {kResponseHeader, kProtocolVersion, kProtocolVersionMajor},
      TtlvType::kInteger);
  const Ttlv* minor = message.FindPath(
      {kResponseHeader, kProtocolVersion, kProtocolVersionMinor},
      TtlvType::kInteger);
  if (major == nullptr || minor == nullptr || major->number() != 1 ||
      minor->number() > 4) {
    return absl::InvalidArgumentError(
        "KMIP response of an unsupported protocol version");
  }
  std::vector<Reply> replies;
  for (const Ttlv& item : message.children()) {
    if (item.tag() != kBatchItem || item.type() != TtlvType::kStructure)
      continue;
    const size_t i = replies.size();
    if (i == operations.size())
      return absl::InvalidArgumentError("KMIP response with too many items");
    const Ttlv* op = item.Find(kOperation, TtlvType::kEnumeration);
    if (op != nullptr && op->number() != operations[i]) {
      return absl::InvalidArgumentError("KMIP response for another operation");
    }
    const Ttlv* id = item.Find(kUniqueBatchItemId, TtlvType::kByteString);
    if (operations.size() > 1 &&
        (id == nullptr ||
         id->bytes() != std::string(1, static_cast<char>(i)))) {
      return absl::InvalidArgumentError(
          "KMIP response items out of order or without their batch item ID");
    }
    const Ttlv* status = item.Find(kResultStatus, TtlvType::kEnumeration);
    if (status == nullptr) {
      return absl::InvalidArgumentError(
          "KMIP response without a result status");
    }
    Reply& reply = replies.emplace_back();
    reply.status = static_cast<uint32_t>(status->number());
    if (const Ttlv* reason = item.Find(kResultReason, TtlvType::kEnumeration))
      reply.reason = static_cast<uint32_t>(reason->number());
    if (const Ttlv* text = item.Find(kResultMessage, TtlvType::kTextString))
      reply.message = text->bytes();
    if (const Ttlv* payload = item.Find(kResponsePayload, TtlvType::kStructure))
      reply.payload = *payload;
  }
  if (replies.empty())
    return absl::InvalidArgumentError("KMIP response without a batch item");
  if (replies.size() < operations.size() && replies.back().status == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("KMIP response answers ", replies.size(), " of ",
                     operations.size(), " operations"));
  }
  return replies;
}

absl::StatusOr<Reply> ParseResponse(const Ttlv& message, Operation operation) {
  DC_ASSIGN_OR_RETURN(std::vector<Reply> replies,
                      ParseResponses(message, {operation}));
  return std::move(replies.front());
}

absl::Status ReplyStatus(const Reply& reply, const std::string& what) {
  if (reply.status == 0) return absl::OkStatus();
  const std::string detail = absl::StrCat(
      what, ": ", reply.message.empty() ? "no message" : reply.message,
      " (KMIP result reason ", reply.reason, ")");
  switch (reply.reason) {
    case kItemNotFound:
      return absl::NotFoundError(detail);
    case kPermissionDenied:
    case kAuthenticationNotSuccessful:
      return absl::PermissionDeniedError(detail);
    default:
      return absl::FailedPreconditionError(detail);
  }
}

}  // namespace dumpcrypt::kmip
