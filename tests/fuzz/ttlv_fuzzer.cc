// libFuzzer target: the TTLV decoder and KMIP response parsing, fed
// untrusted bytes (what a KMS, or anyone on the path to it, may send).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kms/kmip.h"
#include "kms/ttlv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto item = dumpcrypt::Ttlv::Decode(absl::MakeConstSpan(data, size));
  if (!item.ok()) return 0;
  // What decodes must re-encode to the same bytes.
  const std::string again = item->Encode();
  if (again.size() != size || memcmp(again.data(), data, size) != 0)
    __builtin_trap();
  for (auto op : {dumpcrypt::kmip::kGet, dumpcrypt::kmip::kGetAttributes,
                  dumpcrypt::kmip::kLocate}) {
    auto reply = dumpcrypt::kmip::ParseResponse(*item, op);
    if (reply.ok()) (void)dumpcrypt::kmip::ReplyStatus(*reply, "fuzz");
  }
  // The batch dumpcryptfs sends for each key: its State, then the key.
  auto replies = dumpcrypt::kmip::ParseResponses(
      *item, {dumpcrypt::kmip::kGetAttributes, dumpcrypt::kmip::kGet});
  if (replies.ok() && (replies->empty() || replies->size() > 2))
    __builtin_trap();
  return 0;
}
