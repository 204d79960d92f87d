// What a core_pattern handler learns of the process that dumped, from its
// arguments and /proc.
#ifndef DUMPCRYPT_TOOLS_CRASHED_PROCESS_H_
#define DUMPCRYPT_TOOLS_CRASHED_PROCESS_H_

#include <string>

#include "tools/host_config.h"

namespace dumpcrypt::cli {

// ReadCrashedProcess fills in the executable, command line, cgroup and
// unit of `p` (whose ids, time and comm are set) from `proc`/PID ("/proc"
// but in tests). What cannot be read stays empty: a dump is never lost for
// want of its metadata.
void ReadCrashedProcess(const std::string& proc, CrashedProcess* p);

// CgroupOf picks the path from /proc/PID/cgroup's text: the unified
// hierarchy's ("0::PATH") unless it is "/", else the name=systemd one.
std::string CgroupOf(const std::string& proc_cgroup);

// UnitOf is the systemd unit of a cgroup path: its first component that is
// not a ".slice" ("" if none).
std::string UnitOf(const std::string& cgroup);

}  // namespace dumpcrypt::cli

#endif  // DUMPCRYPT_TOOLS_CRASHED_PROCESS_H_
