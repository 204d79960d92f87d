// The libfuse low-level adapter of dumpcryptfs: each op decodes its
// arguments, calls the Tree or OpenFile, maps the Status with
// ErrnoFromStatus and replies. Nothing else here knows the file system.
#ifndef DUMPCRYPT_FS_FUSE_OPS_H_
#define DUMPCRYPT_FS_FUSE_OPS_H_

#include <fuse_lowlevel.h>

#include <functional>
#include <string>

#include "fs/tree.h"

namespace dumpcrypt {

inline constexpr size_t kMaxFuseIo = 1 << 20;

struct ServeOptions {
  bool direct_io = false;  // no kernel page cache for decrypted data
  double timeout = 1.0;  // seconds the kernel may cache entries and attributes
  bool foreground = true;  // else daemonize after mounting
  unsigned max_threads = 10;
  // The mount's read-ahead window, if permitted (root); 0 keeps the kernel's
  // 128 KiB. 2 MiB lets cold sequential reads reach the daemon as two 1 MiB
  // requests at once, which two serving threads decrypt in parallel
  // (docs/PERFORMANCE.md).
  unsigned read_ahead_kb = 2048;
  // While one process reads, how long one serving thread polls the FUSE
  // device before it sleeps (fs/device_poller.h); 0 never polls. 30 µs
  // covers the gap between a reply and the next request of a reader doing
  // small reads back to back: 4 KiB reads gain 1.3x on this project's
  // 2-vCPU machines (docs/PERFORMANCE.md). Not a mount option.
  unsigned poll_us = 30;
  std::function<void()> mounted;  // after the mount exists, before daemonizing
  std::function<void()> daemonized;  // in the serving process, before the loop
};

// ServeFuse mounts `tree` at `mountpoint` with the libfuse options in
// `args`, serves it with a multi-threaded loop until it is unmounted or
// SIGINT, SIGTERM or SIGHUP arrives, then unmounts. Returns 0 after a clean
// end, 1 if the session could not be created or mounted.
int ServeFuse(Tree* tree, struct fuse_args* args, const std::string& mountpoint,
              const ServeOptions& options);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_FS_FUSE_OPS_H_
