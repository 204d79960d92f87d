#include "tools/dump_events.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "base/file_io.h"
#include "base/time_format.h"
#include "nlohmann/json.hpp"

namespace dumpcrypt::cli {
namespace {

std::string Message(const DumpEvent& e) {
  const CrashedProcess& p = e.process;
  std::string who = absl::StrCat(p.comm, " (pid ", p.ids.pid, ", uid ",
                                 p.ids.uid, ", signal ", p.ids.signal, ")");
  if (e.event == kEventSealed || e.event == kEventTruncated) {
    return absl::StrCat("dump of ", who, " sealed to ", e.file, " under ",
                        KeyRefString(e.key), " (rule ", e.rule, ")",
                        e.reason.empty() ? "" : ": ", e.reason);
  }
  if (e.event == kEventSealedToRecipient) {
    return absl::StrCat("dump of ", who, " sealed to ", e.file,
                        " for the recipients only: ", e.reason);
  }
  return absl::StrCat("dump of ", who, " not written: ", e.reason);
}

}  // namespace

nlohmann::json DumpEvent::Json() const {
  const CrashedProcess& p = process;
  return {{"event", event},
          {"time", Rfc3339(absl::Now())},
          {"crash_time", Rfc3339Unix(p.time_unix)},
          {"host", host},
          {"pid", p.ids.pid},
          {"uid", p.ids.uid},
          {"gid", p.ids.gid},
          {"signal", p.ids.signal},
          {"comm", p.comm},
          {"executable", p.executable},
          {"cgroup", p.cgroup},
          {"unit", p.unit},
          {"rule", rule},
          {"provider", key.provider},
          {"key_id", key.key_id},
          {"type", std::string(DumpTypeName(type))},
          {"file", file},
          {"size", size},
          {"reason", reason}};
}

absl::Status RecordEvent(const std::string& events_path, const DumpEvent& e) {
  const bool ok = e.event == kEventSealed;
  const std::string message = Message(e);
  const CrashedProcess& p = e.process;
  const int sent = sd_journal_send(
      "MESSAGE=%s", message.c_str(), "PRIORITY=%d", ok ? LOG_INFO : LOG_WARNING,
      "SYSLOG_IDENTIFIER=dumpcrypt", "DUMPCRYPT_EVENT=%s", e.event.c_str(),
      "DUMPCRYPT_FILE=%s", e.file.c_str(), "DUMPCRYPT_PROVIDER=%s",
      e.key.provider.c_str(), "DUMPCRYPT_KEY_ID=%s", e.key.key_id.c_str(),
      "DUMPCRYPT_RULE=%s", e.rule.c_str(), "DUMPCRYPT_REASON=%s",
      e.reason.c_str(), "DUMPCRYPT_SIZE=%llu",
      static_cast<unsigned long long>(e.size), "COREDUMP_PID=%u", p.ids.pid,
      "COREDUMP_UID=%u", p.ids.uid, "COREDUMP_GID=%u", p.ids.gid,
      "COREDUMP_SIGNAL=%u", p.ids.signal, "COREDUMP_COMM=%s", p.comm.c_str(),
      "COREDUMP_EXE=%s", p.executable.c_str(), "COREDUMP_CGROUP=%s",
      p.cgroup.c_str(), "COREDUMP_UNIT=%s", p.unit.c_str(), nullptr);
  if (sent < 0) {
    openlog("dumpcrypt", LOG_PID, LOG_DAEMON);
    syslog(ok ? LOG_INFO : LOG_WARNING, "%s: %s", e.event.c_str(),
           message.c_str());
    closelog();
  }
  if (events_path.empty()) return absl::OkStatus();
  ::mkdir(DirName(events_path).c_str(), 0750);
  UniqueFd fd(::open(events_path.c_str(),
                     O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                     0640));
  if (!fd.valid()) return ErrnoStatus(errno, events_path);
  const std::string line =
      e.Json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
      "\n";
  // One write with O_APPEND: concurrent handlers' lines never interleave.
  if (::write(fd.get(), line.data(), line.size()) !=
      static_cast<ssize_t>(line.size())) {
    return ErrnoStatus(errno, events_path);
  }
  return absl::OkStatus();
}

}  // namespace dumpcrypt::cli
