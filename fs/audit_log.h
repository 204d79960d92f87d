// AuditLog: one JSON object per line, appended, for every event of a mount.
#ifndef DUMPCRYPT_FS_AUDIT_LOG_H_
#define DUMPCRYPT_FS_AUDIT_LOG_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/file_io.h"
#include "nlohmann/json.hpp"

namespace dumpcrypt {

class AuditLog {
 public:
  // Open appends to `path`, creating it with mode 0600.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(
      const std::string& path);

  // Write appends {"time": RFC 3339 UTC with microseconds, "event": event,
  // ...fields} as one line with a single write(2), so lines from many
  // threads never interleave. Failures are ignored: auditing must not take
  // the file system down. Thread-safe.
  void Write(absl::string_view event, nlohmann::json fields);

 private:
  explicit AuditLog(UniqueFd fd) : fd_(std::move(fd)) {}
  const UniqueFd fd_;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_FS_AUDIT_LOG_H_
