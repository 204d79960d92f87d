// The folder crash-time dumps are sealed into: the dumps it holds, its
// space, and the housekeeping that keeps it within its limits (as
// systemd-coredump's MaxUse= and KeepFree=).
#ifndef DUMPCRYPT_TOOLS_DUMP_FOLDER_H_
#define DUMPCRYPT_TOOLS_DUMP_FOLDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/host_config.h"

namespace dumpcrypt::cli {

struct SealedDump {
  std::string path;
  uint64_t bytes = 0;  // space it takes
  absl::Time mtime;
};

// ListSealedDumps returns the handler's dumps in `folder` (regular files
// named core.*.dce), oldest first.
absl::StatusOr<std::vector<SealedDump>> ListSealedDumps(
    const std::string& folder);

// FreeBytes is the space left to unprivileged writers on `folder`'s file
// system.
absl::StatusOr<uint64_t> FreeBytes(const std::string& folder);

// Vacuum removes the oldest dumps until those left take at most max_use
// and the file system has keep_free bytes free (a cap of 0 is no cap), and
// returns the paths removed. It never removes more than it must.
std::vector<std::string> Vacuum(const HostConfig& config);

// DumpFileName is "core.COMM.UID.PID.TIME.dce", COMM reduced to letters,
// digits and "-_+" (others become '_').
std::string DumpFileName(const CrashedProcess& p);

}  // namespace dumpcrypt::cli

#endif  // DUMPCRYPT_TOOLS_DUMP_FOLDER_H_
