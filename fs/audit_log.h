// AuditLog: one JSON object per line, appended, for every event of a mount.
#ifndef DUMPCRYPT_FS_AUDIT_LOG_H_
#define DUMPCRYPT_FS_AUDIT_LOG_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/file_io.h"
#include "fs/audit_sink.h"
#include "nlohmann/json.hpp"

namespace dumpcrypt {

class AuditLog final : public AuditSink {
 public:
  // Open appends to `path`, creating it with mode 0600.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(
      const std::string& path);

  // Write appends {"time": RFC 3339 UTC with microseconds, "event": event,
  // ...fields} as one line with a single write(2), so lines from many
  // threads never interleave. A failed write does not fail the caller
  // (auditing must not take the file system down); the first failure after
  // a success is logged (LogLine) with the path and cause. Thread-safe.
  void Write(absl::string_view event, nlohmann::json fields);

  // Record writes `event` as Write does, with its path, key_id and provider
  // (for envelopes), uid and pid (when known) and cause (on failure).
  void Record(const AuditEvent& event) override;

 private:
  AuditLog(UniqueFd fd, std::string path)
      : fd_(std::move(fd)), path_(std::move(path)) {}
  const UniqueFd fd_;
  const std::string path_;
  std::atomic<bool> failing_{false};
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_FS_AUDIT_LOG_H_
