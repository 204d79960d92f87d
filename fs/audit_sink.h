// AuditSink: where the core of the mount reports who opened what, so that
// it knows no log format (fs/audit_log.h writes JSON lines).
#ifndef DUMPCRYPT_FS_AUDIT_SINK_H_
#define DUMPCRYPT_FS_AUDIT_SINK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "envelope/envelope_format.h"

namespace dumpcrypt {

// Caller identifies who asked.
struct Caller {
  uint32_t uid = 0;
  uint32_t gid = 0;
  int32_t pid = 0;
  std::vector<uint32_t> groups;  // supplementary groups, where known
};

// AuditEvent is one event of the mount: "open", "key_missing",
// "key_unreachable", "integrity_failure", "open_failed", "decrypt_refused".
struct AuditEvent {
  std::string event;
  std::string path;           // relative to the source folder
  std::optional<KeyRef> key;  // the file's key reference, if it has one
  std::string slot;  // else, for envelopes, the slot: Envelope::key_label()
  std::optional<Caller> caller;
  std::string cause;  // why it failed; empty on success
};

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Record takes one event. It must not fail the caller. Thread-safe.
  virtual void Record(const AuditEvent& event) = 0;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_FS_AUDIT_SINK_H_
