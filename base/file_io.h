// File descriptors as RAII objects, and full-length reads and writes that
// retry on EINTR and short transfers.
#ifndef DUMPCRYPT_BASE_FILE_IO_H_
#define DUMPCRYPT_BASE_FILE_IO_H_

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace dumpcrypt {

// UniqueFd owns a file descriptor and closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Release gives up ownership and returns the descriptor.
  int Release();
  // Reset closes the owned descriptor, if any.
  void Reset();

 private:
  int fd_ = -1;
};

// ErrnoStatus maps `err` to a Status with `what` and strerror in the message:
// ENOENT is NOT_FOUND, EACCES/EPERM PERMISSION_DENIED, else by errno class.
absl::Status ErrnoStatus(int err, absl::string_view what);

// OpenReadOnly opens `path` O_RDONLY|O_CLOEXEC (plus `extra_flags`). The
// error message does not repeat the path: callers prefix it.
absl::StatusOr<UniqueFd> OpenReadOnly(const std::string& path,
                                      int extra_flags = 0);

// RequireRegularFile is INVALID_ARGUMENT if `fd` is not a regular file
// (a FIFO or device would block or never end where a file is read).
absl::Status RequireRegularFile(int fd);

// ReadRegularFile reads the whole of `path`, a regular file of at most
// `max_bytes` (a configuration file, a key store). INVALID_ARGUMENT for a
// FIFO, device or folder, refused at once rather than waited on, or for a
// larger file; the errno's code if it cannot be read. Messages do not name
// the path: callers prefix it.
absl::StatusOr<std::string> ReadRegularFile(const std::string& path,
                                            size_t max_bytes);

// ReadFull reads until `out` is full or end of input; returns the count read
// (less than out.size() only at end of input). Works on pipes.
absl::StatusOr<size_t> ReadFull(int fd, absl::Span<uint8_t> out);

// PreadFull reads `out.size()` bytes at `offset`; returns the count read,
// less only at end of file.
absl::StatusOr<size_t> PreadFull(int fd, absl::Span<uint8_t> out,
                                 uint64_t offset);

// PreadvFull fills every iovec in order from `offset`; returns the total
// read, less than the iovecs' total only at end of file. `iov` is modified.
absl::StatusOr<size_t> PreadvFull(int fd, struct iovec* iov, int iovcnt,
                                  uint64_t offset);

// WriteFull writes all of `data`.
absl::Status WriteFull(int fd, absl::Span<const uint8_t> data);

// PwriteFull writes all of `data` at `offset`.
absl::Status PwriteFull(int fd, absl::Span<const uint8_t> data,
                        uint64_t offset);

// DirName is the folder part of `path` ("." without one, "/" for "/x");
// BaseName the part after the last slash.
std::string DirName(const std::string& path);
std::string BaseName(const std::string& path);

// AtomicFile writes a new file (mode 0600) that gets its name only in
// Commit, after fsync. The file is unnamed (O_TMPFILE) until then, so a
// writer killed at any instant leaves nothing behind; where the file system
// lacks O_TMPFILE it is a hidden ".NAME.dumpcrypt-XXXXXX" in the
// destination's folder, removed when an uncommitted AtomicFile is destroyed
// (or by CleanupOnSignal), though not after SIGKILL. Move-only; not
// thread-safe.
class AtomicFile {
 public:
  // How the file waits for its name: unnamed where the file system can, or
  // under the hidden name (what file systems without O_TMPFILE get).
  enum class Temp { kUnnamed, kHidden };

  // Create makes the temporary file. FAILED_PRECONDITION if `path` is a
  // folder, ALREADY_EXISTS if it exists and !overwrite; the errno's code if
  // the folder refuses the file. Messages about `path` itself do not name
  // it: the caller does.
  static absl::StatusOr<AtomicFile> Create(const std::string& path,
                                           bool overwrite,
                                           Temp temp = Temp::kUnnamed);
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  ~AtomicFile();

  int fd() const { return fd_.get(); }
  // temp_path is the hidden name, "" for an unnamed file.
  const std::string& temp_path() const { return temp_path_; }
  const std::string& path() const { return path_; }

  // WroteUpTo tells the file that its first `end` bytes are written. Once
  // 32 MiB more have gathered it starts their write-back (best effort), so
  // that a file written in one pass reaches the disk while it is written and
  // Commit's fsync has little left to wait for.
  void WroteUpTo(uint64_t end);

  // Commit syncs the data, gives the file its name (failing with
  // ALREADY_EXISTS if a file appeared there meanwhile and !overwrite), and
  // syncs the folder. With overwrite, an unnamed file is linked under a
  // hidden name and renamed over the old one.
  absl::Status Commit();

 private:
  absl::Status LinkUnnamed();
  AtomicFile(std::string path, std::string temp_path, UniqueFd fd,
             bool overwrite)
      : path_(std::move(path)),
        temp_path_(std::move(temp_path)),
        fd_(std::move(fd)),
        overwrite_(overwrite) {}

  std::string path_;
  std::string temp_path_;
  UniqueFd fd_;
  bool overwrite_;
  bool committed_ = false;
  uint64_t written_back_ = 0;  // write-back started up to here
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_BASE_FILE_IO_H_
