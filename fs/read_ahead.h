// The kernel read-ahead window of a FUSE mount. FUSE caps it at 128 KiB
// however large max_readahead is; only the mount's backing device in sysfs
// (/sys/class/bdi/MAJOR:MINOR/read_ahead_kb, root only) can raise it, and
// the daemon's answer to INIT lowers it again to that answer's
// max_readahead.
#ifndef DUMPCRYPT_FS_READ_AHEAD_H_
#define DUMPCRYPT_FS_READ_AHEAD_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dumpcrypt {

// MountDevice returns "MAJOR:MINOR" of the last mount at `mountpoint` (an
// absolute path) in `mountinfo`, the text of /proc/self/mountinfo; NotFound
// if there is none.
absl::StatusOr<std::string> MountDevice(absl::string_view mountinfo,
                                        absl::string_view mountpoint);

// SetMountReadAhead sets the read-ahead window of the mount at `mountpoint`
// to `kib` KiB. It reads /proc/self/mountinfo, so it sends no request to the
// mount and may run before the mount is served.
absl::Status SetMountReadAhead(const std::string& mountpoint, unsigned kib);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_FS_READ_AHEAD_H_
