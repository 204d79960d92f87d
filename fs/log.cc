#include "fs/log.h"

#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/strings/str_cat.h"

namespace dumpcrypt {
namespace {

std::atomic<bool> g_syslog{false};

}  // namespace

void LogToSyslog() {
  ::openlog("dumpcryptfs", LOG_PID, LOG_DAEMON);
  g_syslog = true;
}

void LogLine(absl::string_view line) {
  const std::string text = absl::StrCat("dumpcryptfs: ", line, "\n");
  (void)!::write(STDERR_FILENO, text.data(), text.size());
  if (g_syslog)
    ::syslog(LOG_WARNING, "%.*s", static_cast<int>(line.size()), line.data());
}

}  // namespace dumpcrypt
