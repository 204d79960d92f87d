// Log lines of the daemon: to stderr, and to syslog once daemonized.
#ifndef DUMPCRYPT_FS_LOG_H_
#define DUMPCRYPT_FS_LOG_H_

#include "absl/strings/string_view.h"

namespace dumpcrypt {

// LogToSyslog sends later log lines to syslog ("dumpcryptfs") as well.
void LogToSyslog();

// LogLine writes "dumpcryptfs: <line>". Thread-safe.
void LogLine(absl::string_view line);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_FS_LOG_H_
