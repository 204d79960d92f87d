#include "kms/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/file_io.h"
#include "base/status_macros.h"

namespace dumpcrypt {

absl::Status CheckSecretFile(int fd, absl::string_view what,
                             const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, "stat " + path);
  if (!S_ISREG(st.st_mode)) {
    return absl::PermissionDeniedError(
        absl::StrCat(what, " ", path, " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "%s %s is open to group or others (mode %04o); refusing to use it: "
        "chmod 600 %s",
        what, path, st.st_mode & 07777, path));
  }
  return absl::OkStatus();
}

absl::StatusOr<SecretBytes> ReadSecretFd(int fd, absl::string_view what,
                                         const std::string& path,
                                         size_t max_size) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, "stat " + path);
  if (static_cast<uint64_t>(st.st_size) > max_size) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " ", path, " is over ", max_size, " bytes"));
  }
  SecretBytes buf(static_cast<size_t>(st.st_size));
  DC_ASSIGN_OR_RETURN(size_t got, PreadFull(fd, buf.mutable_span(), 0));
  buf.Truncate(got);
  return buf;
}

absl::StatusOr<SecretBytes> ReadSecretFile(const std::string& path,
                                           absl::string_view what,
                                           size_t max_size) {
  auto fd = OpenReadOnly(path, O_NONBLOCK);
  if (!fd.ok()) {
    if (absl::IsNotFound(fd.status())) {
      return absl::NotFoundError(
          absl::StrCat(what, " ", path, " does not exist"));
    }
    return Prefix(fd.status(), absl::StrCat(what, " ", path));
  }
  DC_RETURN_IF_ERROR(CheckSecretFile(fd->get(), what, path));
  return ReadSecretFd(fd->get(), what, path, max_size);
}

}  // namespace dumpcrypt
