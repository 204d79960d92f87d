// The one table from absl::Status to errno, used by every FUSE reply.
#ifndef DUMPCRYPT_FS_ERRNO_MAP_H_
#define DUMPCRYPT_FS_ERRNO_MAP_H_

#include "absl/status/status.h"

namespace dumpcrypt {

// ErrnoFromStatus: OK 0; NOT_FOUND ENOENT; PERMISSION_DENIED EACCES;
// UNAUTHENTICATED ENOKEY (no usable key for the file: missing, refused or
// wrong); UNAVAILABLE EHOSTDOWN (the key's source could not be reached: a
// KMS outage, not a missing key); DATA_LOSS EIO (failed
// integrity check or damaged file); INVALID_ARGUMENT EINVAL; ALREADY_EXISTS
// EEXIST; OUT_OF_RANGE ERANGE; FAILED_PRECONDITION ENODATA (no such
// attribute); UNIMPLEMENTED EOPNOTSUPP; RESOURCE_EXHAUSTED ENOMEM;
// ABORTED ESTALE (the file changed since it was looked
// up: the kernel looks it up again and retries the open); anything else EIO.
int ErrnoFromStatus(const absl::Status& status);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_FS_ERRNO_MAP_H_
