#include "fs/device_poller.h"

#include <errno.h>
#include <linux/fuse.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <utility>

namespace dumpcrypt {
namespace {

constexpr size_t kPidOffset = offsetof(fuse_in_header, pid);
// Requests in a row from one process before polling starts. Two readers
// interleave their requests: eight in a row from one of them are rare.
constexpr uint32_t kPollAfter = 8;
// A request that comes more than kSlowMissNs after a poll gave up on it
// pauses polling for the next kPauseRequests requests.
constexpr int64_t kSlowMissNs = 1'000'000;
constexpr int32_t kPauseRequests = 4096;

int64_t NowNs() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

}  // namespace

DevicePoller::DevicePoller(absl::Duration spin, std::function<bool()> stopping)
    : spin_ns_(absl::ToInt64Nanoseconds(spin)),
      stopping_(std::move(stopping)) {}

ssize_t DevicePoller::Read(int fd, void* buf, size_t len) {
  if (spin_ns_ > 0 && same_caller_ >= kPollAfter && pause_left_ <= 0 &&
      !polling_.exchange(true)) {
    const int64_t deadline = NowNs() + spin_ns_;
    int ready = 0;
    // A signal may end the session while this thread polls; read(2) would
    // then sleep through it.
    while (!stopping_()) {
      pollfd p = {fd, POLLIN, 0};
      ready = poll(&p, 1, 0);
      if (ready != 0 || NowNs() > deadline) break;
    }
    polling_ = false;
    if (ready == 0 && stopping_()) {
      errno = EINTR;
      return -1;
    }
    if (ready < 0) return -1;
    if (ready == 0) missed_at_ns_ = NowNs();
  }
  const ssize_t n = read(fd, buf, len);
  if (n <= 0) return n;
  if (pause_left_ > 0) --pause_left_;
  if (missed_at_ns_ != 0) {
    const int64_t missed_at = missed_at_ns_.exchange(0);
    if (missed_at != 0 && NowNs() - missed_at > kSlowMissNs) {
      pause_left_ = kPauseRequests;
    }
  }
  if (n >= static_cast<ssize_t>(kPidOffset + sizeof(uint32_t))) {
    uint32_t pid;
    std::memcpy(&pid, static_cast<const char*>(buf) + kPidOffset, sizeof(pid));
    if (last_pid_.exchange(pid) == pid) {
      ++same_caller_;
    } else {
      same_caller_ = 1;
    }
  }
  return n;
}

}  // namespace dumpcrypt
