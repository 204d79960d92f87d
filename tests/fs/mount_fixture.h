// A real dumpcryptfs mount for tests, unmounted in every outcome.
#ifndef DUMPCRYPT_TESTS_FS_MOUNT_FIXTURE_H_
#define DUMPCRYPT_TESTS_FS_MOUNT_FIXTURE_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace dumpcrypt::testing {

// FuseUsable says whether this machine can mount (root, /dev/fuse,
// fusermount3); otherwise `why` says what is missing.
bool FuseUsable(std::string* why);

// IsMounted is true while a dumpcryptfs mount is at `mountpoint`.
bool IsMounted(const std::string& mountpoint);

class Mount {
 public:
  // Start runs `[wrapper...] dumpcryptfs -f -o OPTIONS SOURCE MOUNTPOINT`
  // with stderr to `log_path`, and returns once the mount is there.
  static absl::StatusOr<std::unique_ptr<Mount>> Start(
      const std::string& source, const std::string& mountpoint,
      const std::vector<std::string>& options, const std::string& log_path,
      const std::vector<std::string>& wrapper = {});
  ~Mount();  // Unmount(), whatever state the daemon is in

  // Unmount asks fusermount3 to unmount and waits for the daemon; if it
  // does not exit in 10 s it is killed and the mount detached. Returns the
  // daemon's exit status (128 + signal if killed). Idempotent: later calls
  // leave alone whatever was mounted at the mountpoint since.
  int Unmount();
  // Signal sends `sig` to the daemon; WaitExit waits for it to end.
  void Signal(int sig);
  int WaitExit(absl::Duration timeout);
  pid_t pid() const { return pid_; }

 private:
  Mount(pid_t pid, std::string mountpoint)
      : pid_(pid), mountpoint_(std::move(mountpoint)) {}
  pid_t pid_;
  const std::string mountpoint_;
  int exit_status_ = -1;
  bool unmounted_ = false;
};

// Sha256Hex of a file's whole content, read through read(2).
std::string Sha256OfFile(const std::string& path);

}  // namespace dumpcrypt::testing

#endif  // DUMPCRYPT_TESTS_FS_MOUNT_FIXTURE_H_
