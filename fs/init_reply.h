// The one FUSE feature dumpcryptfs needs that Debian 12's libfuse (3.14)
// cannot ask for: FUSE_DIRECT_IO_ALLOW_MMAP (kernel 6.6, libfuse 3.16).
// Without it the kernel refuses shared mappings of files opened with
// direct_io (ENODEV), and `crash` maps the page bitmap of makedumpfile's
// dumps shared. The session's own writev sets the flag in the INIT reply
// libfuse writes; kernels that do not know it ignore it.
#ifndef DUMPCRYPT_FS_INIT_REPLY_H_
#define DUMPCRYPT_FS_INIT_REPLY_H_

#include <sys/uio.h>

namespace dumpcrypt {

// AllowSharedMappings sets FUSE_INIT_EXT and FUSE_DIRECT_IO_ALLOW_MMAP in
// `iov[0..count)` if it is a successful FUSE_INIT reply (a 16-byte
// fuse_out_header with error 0, then a fuse_init_out of protocol major 7
// long enough to hold flags2) and returns true; else changes nothing and
// returns false. Call it only on the first message written to the device,
// which is always the INIT reply.
bool AllowSharedMappings(iovec* iov, int count);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_FS_INIT_REPLY_H_
