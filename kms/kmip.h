// KMIP 1.x messages over TTLV: the requests dumpcrypt sends (KMIP 1.2) and
// the checks on the responses (1.0 to 1.4 accepted).
#ifndef DUMPCRYPT_KMS_KMIP_H_
#define DUMPCRYPT_KMS_KMIP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kms/ttlv.h"

namespace dumpcrypt::kmip {

enum Tag : uint32_t {
  kActivationDate = 0x420001,
  kAttribute = 0x420008,
  kAttributeName = 0x42000A,
  kAttributeValue = 0x42000B,
  kBatchCount = 0x42000D,
  kBatchItem = 0x42000F,
  kCryptographicAlgorithm = 0x420028,
  kCryptographicLength = 0x42002A,
  kCryptographicUsageMask = 0x42002C,
  kKeyBlock = 0x420040,
  kKeyFormatType = 0x420042,
  kKeyMaterial = 0x420043,
  kKeyValue = 0x420045,
  kName = 0x420053,
  kNameType = 0x420054,
  kNameValue = 0x420055,
  kObjectType = 0x420057,
  kOperation = 0x42005C,
  kProtocolVersion = 0x420069,
  kProtocolVersionMajor = 0x42006A,
  kProtocolVersionMinor = 0x42006B,
  kRequestHeader = 0x420077,
  kRequestMessage = 0x420078,
  kRequestPayload = 0x420079,
  kResponseHeader = 0x42007A,
  kResponseMessage = 0x42007B,
  kResponsePayload = 0x42007C,
  kResultMessage = 0x42007D,
  kResultReason = 0x42007E,
  kResultStatus = 0x42007F,
  kState = 0x42008D,
  kSymmetricKey = 0x42008F,
  kTemplateAttribute = 0x420091,
  kUniqueBatchItemId = 0x420093,
  kUniqueIdentifier = 0x420094,
};

enum Operation : uint32_t {
  kCreate = 0x01,
  kRegister = 0x03,
  kLocate = 0x08,
  kGet = 0x0A,
  kGetAttributes = 0x0B,
  kActivate = 0x12,
};

enum class KeyState : uint32_t {
  kPreActive = 1,
  kActive = 2,
  kDeactivated = 3,
  kCompromised = 4,
  kDestroyed = 5,
  kDestroyedCompromised = 6,
};
// KeyStateName: "Active", "Deactivated", ...
std::string KeyStateName(KeyState state);

enum ResultReason : uint32_t {
  kItemNotFound = 0x01,
  kAuthenticationNotSuccessful = 0x03,
  kPermissionDenied = 0x0C,
};

// Item is one operation of a request, with its payload.
struct Item {
  Operation operation;
  std::vector<Ttlv> payload;
};

// Request wraps `items` in one RequestMessage (KMIP 1.2): one round trip.
// With more than one item, each carries its index (one byte) as Unique
// Batch Item ID, and the server stops at the first that fails (the default
// Batch Error Continuation Option, Stop).
Ttlv Request(std::vector<Item> items);
Ttlv Request(Operation operation, std::vector<Ttlv> payload);

// Payloads of the operations dumpcrypt uses.
std::vector<Ttlv> GetPayload(const std::string& id);  // Key Format Type Raw
std::vector<Ttlv> GetStatePayload(const std::string& id);
std::vector<Ttlv> LocateByNamePayload(const std::string& name);
std::vector<Ttlv> CreateAes256Payload(const std::string& name);
std::vector<Ttlv> RegisterAes256Payload(const std::string& name,
                                        const std::string& key);
std::vector<Ttlv> ActivatePayload(const std::string& id);

// Reply is one batch item's result.
struct Reply {
  uint32_t status = 0;  // 0 success, 1 failed, 2 pending, 3 undone
  uint32_t reason = 0;
  std::string message;
  Ttlv payload = Ttlv::Structure(kResponsePayload, {});
};

// ParseResponses checks `message` is a ResponseMessage of protocol 1.0-1.4
// whose batch items answer `operations` in order, and returns their results.
// A failed operation is not an error here (see ReplyStatus); after one, a
// server that stopped may leave the rest unanswered, so fewer results come
// back. INVALID_ARGUMENT for a message that is not such a response.
absl::StatusOr<std::vector<Reply>> ParseResponses(
    const Ttlv& message, const std::vector<Operation>& operations);
// ParseResponse is ParseResponses for a request of one operation.
absl::StatusOr<Reply> ParseResponse(const Ttlv& message, Operation operation);

// ReplyStatus maps a failed reply to a Status naming `what`: Item Not Found
// is NOT_FOUND; Permission Denied and Authentication Not Successful are
// PERMISSION_DENIED; anything else FAILED_PRECONDITION with reason and
// message. OK for success.
absl::Status ReplyStatus(const Reply& reply, const std::string& what);

}  // namespace dumpcrypt::kmip

#endif  // DUMPCRYPT_KMS_KMIP_H_
