#include "base/file_io.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/status_macros.h"

namespace dumpcrypt {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    Reset();
    fd_ = other.Release();
  }
  return *this;
}

int UniqueFd::Release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void UniqueFd::Reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

absl::Status ErrnoStatus(int err, absl::string_view what) {
  std::string message = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case EINVAL:
    case ENAMETOOLONG:
      return absl::InvalidArgumentError(message);
    case EAGAIN:
    case EINTR:
    case EBUSY:
      return absl::UnavailableError(message);
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::StatusOr<UniqueFd> OpenReadOnly(const std::string& path,
                                      int extra_flags) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | extra_flags);
  if (fd < 0) return ErrnoStatus(errno, "open");
  return UniqueFd(fd);
}

absl::Status RequireRegularFile(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, "stat");
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        S_ISDIR(st.st_mode) ? "is a folder" : "is not a regular file");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadRegularFile(const std::string& path,
                                            size_t max_bytes) {
  DC_ASSIGN_OR_RETURN(UniqueFd fd, OpenReadOnly(path, O_NONBLOCK));
  DC_RETURN_IF_ERROR(RequireRegularFile(fd.get()));
  std::string text;
  uint8_t buf[1 << 14];
  for (;;) {
    DC_ASSIGN_OR_RETURN(size_t got, ReadFull(fd.get(), absl::MakeSpan(buf)));
    text.append(reinterpret_cast<const char*>(buf), got);
    if (text.size() > max_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("is larger than ", max_bytes, " bytes"));
    }
    if (got < sizeof(buf)) return text;
  }
}

absl::StatusOr<size_t> ReadFull(int fd, absl::Span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read");
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

absl::StatusOr<size_t> PreadFull(int fd, absl::Span<uint8_t> out,
                                 uint64_t offset) {
  struct iovec iov = {out.data(), out.size()};
  return PreadvFull(fd, &iov, 1, offset);
}

absl::StatusOr<size_t> PreadvFull(int fd, struct iovec* iov, int iovcnt,
                                  uint64_t offset) {
  size_t total = 0;
  while (iovcnt > 0) {
    ssize_t n = ::preadv(fd, iov, iovcnt, static_cast<off_t>(offset + total));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "pread");
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
    size_t left = static_cast<size_t>(n);
    while (iovcnt > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --iovcnt;
    }
    if (iovcnt > 0) {
      iov->iov_base = static_cast<uint8_t*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return total;
}

absl::Status WriteFull(int fd, absl::Span<const uint8_t> data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write");
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status PwriteFull(int fd, absl::Span<const uint8_t> data,
                        uint64_t offset) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done,
                         static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write");
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

namespace {

// HiddenName is ".NAME.dumpcrypt-XXXXXX" beside `path`.
std::string HiddenName(const std::string& path) {
  return DirName(path) + "/." + BaseName(path) + ".dumpcrypt-XXXXXX";
}

}  // namespace

absl::StatusOr<AtomicFile> AtomicFile::Create(const std::string& path,
                                              bool overwrite, Temp temp_kind) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return absl::FailedPreconditionError("is a folder, not a file name");
    if (!overwrite) return absl::AlreadyExistsError("exists (not overwritten)");
  }
  // An unnamed file, so that a kill at any instant leaves nothing; a named
  // hidden one where the file system has no O_TMPFILE.
  if (temp_kind == Temp::kUnnamed) {
    const int fd =
        ::open(DirName(path).c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) return AtomicFile(path, "", UniqueFd(fd), overwrite);
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
      return ErrnoStatus(errno, "create a file in " + DirName(path));
  }
  std::string temp = HiddenName(path);
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) {
    return ErrnoStatus(errno, "create a file in " + DirName(path));
  }
  return AtomicFile(path, std::move(temp), UniqueFd(fd), overwrite);
}

absl::Status AtomicFile::LinkUnnamed() {
  const std::string proc = "/proc/self/fd/" + std::to_string(fd_.get());
  auto link_as = [&](const std::string& name) {
    return ::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, name.c_str(),
                    AT_SYMLINK_FOLLOW);
  };
  if (!overwrite_) {
    if (link_as(path_) == 0) return absl::OkStatus();
    if (errno == EEXIST)
      return absl::AlreadyExistsError("exists (not overwritten)");
    return ErrnoStatus(errno, "link into place");
  }
  // A link cannot replace a file: link under a fresh hidden name (made
  // unique by mkostemp, then freed), then rename over the old file.
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string temp = HiddenName(path_);
    const int made = ::mkostemp(temp.data(), O_CLOEXEC);
    if (made < 0)
      return ErrnoStatus(errno, "create a file in " + DirName(path_));
    ::close(made);
    ::unlink(temp.c_str());
    if (link_as(temp) != 0) {
      if (errno == EEXIST) continue;
      return ErrnoStatus(errno, "link into place");
    }
    if (::rename(temp.c_str(), path_.c_str()) != 0) {
      const int err = errno;
      ::unlink(temp.c_str());
      return ErrnoStatus(err, "rename into place");
    }
    return absl::OkStatus();
  }
  return absl::AlreadyExistsError("no free temporary name");
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)),
      fd_(std::move(other.fd_)),
      overwrite_(other.overwrite_),
      committed_(other.committed_) {
  other.committed_ = true;  // the moved-from object owns nothing
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    fd_.Reset();
    if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
  }
}

void AtomicFile::WroteUpTo(uint64_t end) {
  constexpr uint64_t kWindow = uint64_t{32} << 20;
  if (end < written_back_ + kWindow) return;
  ::sync_file_range(fd_.get(), static_cast<off64_t>(written_back_),
                    static_cast<off64_t>(end - written_back_),
                    SYNC_FILE_RANGE_WRITE);
  written_back_ = end;
}

absl::Status AtomicFile::Commit() {
  if (committed_) return absl::FailedPreconditionError("already committed");
  if (::fsync(fd_.get()) != 0) return ErrnoStatus(errno, "fsync " + path_);
  if (temp_path_.empty()) {
    DC_RETURN_IF_ERROR(LinkUnnamed());
  } else {
    const unsigned flags = overwrite_ ? 0 : RENAME_NOREPLACE;
    if (::renameat2(AT_FDCWD, temp_path_.c_str(), AT_FDCWD, path_.c_str(),
                    flags) != 0) {
      if (errno == EEXIST)
        return absl::AlreadyExistsError("exists (not overwritten)");
      return ErrnoStatus(errno, "rename into place");
    }
  }
  committed_ = true;
  fd_.Reset();
  const std::string dir = DirName(path_);
  auto dir_fd = OpenReadOnly(dir, O_DIRECTORY);
  if (!dir_fd.ok()) return Prefix(dir_fd.status(), dir);
  if (::fsync(dir_fd->get()) != 0) return ErrnoStatus(errno, "fsync " + dir);
  return absl::OkStatus();
}

}  // namespace dumpcrypt
