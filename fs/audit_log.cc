#include "fs/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/time_format.h"
#include "fs/log.h"

namespace dumpcrypt {

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(
    const std::string& path) {
  int fd =
      ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, "open audit log " + path);
  return std::unique_ptr<AuditLog>(new AuditLog(UniqueFd(fd), path));
}

void AuditLog::Record(const AuditEvent& event) {
  nlohmann::json fields = {{"path", event.path}};
  if (!event.slot.empty()) fields["key"] = event.slot;
  if (event.key.has_value()) {
    fields["key_id"] = event.key->key_id;
    fields["provider"] = event.key->provider;
  }
  if (event.caller.has_value()) {
    fields["uid"] = event.caller->uid;
    fields["pid"] = event.caller->pid;
  }
  if (!event.cause.empty()) fields["cause"] = event.cause;
  Write(event.event, std::move(fields));
}

void AuditLog::Write(absl::string_view event, nlohmann::json fields) {
  nlohmann::json line = {{"time", Rfc3339(absl::Now(), true)},
                         {"event", std::string(event)}};
  if (fields.is_object()) line.update(fields);
  std::string text =
      line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text.push_back('\n');
  const ssize_t n = ::write(fd_.get(), text.data(), text.size());
  if (n == static_cast<ssize_t>(text.size())) {
    failing_ = false;
  } else if (!failing_.exchange(true)) {
    LogLine(absl::StrCat("audit log ", path_, ": events are being lost: ",
                         n < 0 ? std::strerror(errno) : "short write"));
  }
}

}  // namespace dumpcrypt
