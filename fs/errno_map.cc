#include "fs/errno_map.h"

#include <cerrno>

namespace dumpcrypt {

int ErrnoFromStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 0;
    case absl::StatusCode::kNotFound:
      return ENOENT;
    case absl::StatusCode::kPermissionDenied:
      return EACCES;
    case absl::StatusCode::kUnauthenticated:
      return ENOKEY;
    case absl::StatusCode::kDataLoss:
      return EIO;
    case absl::StatusCode::kInvalidArgument:
      return EINVAL;
    case absl::StatusCode::kAlreadyExists:
      return EEXIST;
    case absl::StatusCode::kOutOfRange:
      return ERANGE;
    case absl::StatusCode::kFailedPrecondition:
      return ENODATA;
    case absl::StatusCode::kUnimplemented:
      return EOPNOTSUPP;
    case absl::StatusCode::kResourceExhausted:
      return ENOMEM;
    case absl::StatusCode::kUnavailable:
      return EHOSTDOWN;
    case absl::StatusCode::kAborted:
      return ESTALE;
    default:
      return EIO;
  }
}

}  // namespace dumpcrypt
