#include "fs/read_ahead.h"

#include <fcntl.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "base/file_io.h"
#include "base/status_macros.h"

namespace dumpcrypt {
namespace {

// Mountinfo writes space, tab, newline and backslash as three-digit octal
// escapes: \040, \011, \012, \134.
std::string EscapeMountPath(absl::string_view path) {
  std::string out;
  for (char c : path) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\\') {
      absl::StrAppend(&out, absl::StrFormat("\\%03o", c));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> MountDevice(absl::string_view mountinfo,
                                        absl::string_view mountpoint) {
  const std::string want = EscapeMountPath(mountpoint);
  std::string device;
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n')) {
    // ID PARENT MAJOR:MINOR ROOT MOUNTPOINT ...
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.size() > 4 && fields[4] == want) device = std::string(fields[2]);
  }
  if (device.empty())
    return absl::NotFoundError(absl::StrCat("no mount at ", mountpoint));
  return device;
}

absl::Status SetMountReadAhead(const std::string& mountpoint, unsigned kib) {
  std::ifstream in("/proc/self/mountinfo");
  std::stringstream mountinfo;
  mountinfo << in.rdbuf();
  DC_ASSIGN_OR_RETURN(std::string device,
                      MountDevice(mountinfo.str(), mountpoint));
  const std::string path =
      absl::StrCat("/sys/class/bdi/", device, "/read_ahead_kb");
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus(errno, path);
  const std::string value = absl::StrCat(kib, "\n");
  return WriteFull(fd.get(), absl::MakeConstSpan(
                                 reinterpret_cast<const uint8_t*>(value.data()),
                                 value.size()));
}

}  // namespace dumpcrypt
