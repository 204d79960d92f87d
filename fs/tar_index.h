// The members of an uncompressed tar file and where their bytes lie in it,
// read with libarchive, so that a member can be read in place (no
// extraction).
#ifndef DUMPCRYPT_FS_TAR_INDEX_H_
#define DUMPCRYPT_FS_TAR_INDEX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace dumpcrypt {

struct TarMember {
  std::string path;     // as stored, e.g. "dumps/core.1.dce"
  uint64_t offset = 0;  // of its first byte in the tar file
  uint64_t size = 0;
  int64_t mtime = 0;  // seconds since the epoch
};

// ListTar returns the regular files of the tar open as `fd`, in order
// (folders and other entries are skipped). INVALID_ARGUMENT for a
// compressed tar (saying how to get an uncompressed one) or anything that
// is not a tar; DATA_LOSS for a tar that ends early.
absl::StatusOr<std::vector<TarMember>> ListTar(int fd);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_FS_TAR_INDEX_H_
