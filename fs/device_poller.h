// Polling the FUSE device for a moment before sleeping on it.
//
// A 4 KiB read through FUSE is one round trip: the reader's request wakes a
// serving thread, the reply wakes the reader. On a virtual machine each
// wake-up of an idle vCPU is expensive (docs/PERFORMANCE.md: on the 2-vCPU
// project machine, reader and daemon pinned to one vCPU make 4 KiB reads
// 1.6x faster). DevicePoller is the session's read. While the requests come
// from one process, one serving thread at a time polls the device for up
// to `spin` before it blocks in read(2) like the others, so a request that
// follows soon after the previous reply is taken without a wake-up. The
// price is up to `spin` of one CPU after each request while requests keep
// coming; an idle mount sleeps. While several processes read, the CPUs are
// theirs and nobody polls (polling cost two 4 KiB readers a quarter of
// their reads). Nor does anybody poll for a while after a request came more
// than a millisecond after a poll gave up on it: the reader was busy or
// waited for a CPU. On a loaded machine, polling left readers woken by a
// reply waiting for the next scheduler tick: with one busy process per CPU,
// 4 KiB reads fell from 37,000 to 1,400 a second (docs/PERFORMANCE.md).
#ifndef DUMPCRYPT_FS_DEVICE_POLLER_H_
#define DUMPCRYPT_FS_DEVICE_POLLER_H_

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>

#include "absl/time/time.h"

namespace dumpcrypt {

class DevicePoller {
 public:
  // `stopping` is asked while polling; once it says true (the session is
  // ending), a polling Read returns -1 with errno EINTR.
  DevicePoller(absl::Duration spin, std::function<bool()> stopping);

  // Read has read(2)'s contract on the blocking FUSE device `fd`. It first
  // polls `fd` for up to `spin` if no other caller is polling, the last few
  // requests read came from one process (fuse_in_header's pid), and no
  // request of the last few thousand came late after a poll gave up.
  ssize_t Read(int fd, void* buf, size_t len);

 private:
  const int64_t spin_ns_;
  const std::function<bool()> stopping_;
  std::atomic<bool> polling_{false};
  std::atomic<uint32_t> last_pid_{0};
  std::atomic<uint32_t> same_caller_{0};  // requests in a row from last_pid_
  std::atomic<int32_t> pause_left_{0};  // requests to read before polling again
  // When a poll last found nothing, until the next request; else 0.
  std::atomic<int64_t> missed_at_ns_{0};
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_FS_DEVICE_POLLER_H_
