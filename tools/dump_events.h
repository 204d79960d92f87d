// The event each crash-time dump raises: a journal entry with structured
// fields (syslog where no journal runs) and a JSON line in an events file.
#ifndef DUMPCRYPT_TOOLS_DUMP_EVENTS_H_
#define DUMPCRYPT_TOOLS_DUMP_EVENTS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "envelope/envelope_format.h"
#include "nlohmann/json_fwd.hpp"
#include "tools/host_config.h"

namespace dumpcrypt::cli {

// Event names: a dump sealed under the policy's key, sealed only to the
// configured recipients (no key could be had), sealed but cut short
// (truncated input or max_size), or not written at all.
inline constexpr char kEventSealed[] = "dump_sealed";
inline constexpr char kEventSealedToRecipient[] = "dump_sealed_to_recipient";
inline constexpr char kEventTruncated[] = "dump_truncated";
inline constexpr char kEventNoKey[] = "dump_dropped_no_key";
inline constexpr char kEventNoSpace[] = "dump_dropped_no_space";
inline constexpr char kEventRateLimited[] = "dump_dropped_rate_limit";
inline constexpr char kEventFailed[] = "dump_failed";

struct DumpEvent {
  std::string event;
  CrashedProcess process;
  std::string host;
  std::string rule;  // the key rule that chose the key
  KeyRef key;        // the key that sealed (or should have)
  DumpType type = DumpType::kUserworld;
  std::string file;    // the sealed dump; empty if none was written
  uint64_t size = 0;   // bytes of core taken
  std::string reason;  // why it was dropped or cut, or ""

  nlohmann::json Json() const;
};

// RecordEvent appends `e` as one JSON line to `events_path` (when not
// empty; its folder made 0750 if absent) and sends it to the journal, or to
// syslog where the journal does not answer. The error is the events file's.
absl::Status RecordEvent(const std::string& events_path, const DumpEvent& e);

}  // namespace dumpcrypt::cli

#endif  // DUMPCRYPT_TOOLS_DUMP_EVENTS_H_
