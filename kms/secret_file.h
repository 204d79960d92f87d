// Reading small secret files (key stores, passwords, private keys) into
// locked memory, refusing files that are not regular or that group or
// others may read.
#ifndef DUMPCRYPT_KMS_SECRET_FILE_H_
#define DUMPCRYPT_KMS_SECRET_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/secret_bytes.h"

namespace dumpcrypt {

// CheckSecretFile: PERMISSION_DENIED if `fd` is not a regular file or its
// mode lets group or others read it; messages say "`what` `path` ...".
absl::Status CheckSecretFile(int fd, absl::string_view what,
                             const std::string& path);

// ReadSecretFd reads all of `fd` (at most `max_size` bytes, else
// FAILED_PRECONDITION) into locked memory.
absl::StatusOr<SecretBytes> ReadSecretFd(int fd, absl::string_view what,
                                         const std::string& path,
                                         size_t max_size);

// ReadSecretFile opens `path` without waiting on it (a FIFO would block),
// checks it as CheckSecretFile and reads it as ReadSecretFd. NOT_FOUND if it
// does not exist.
absl::StatusOr<SecretBytes> ReadSecretFile(const std::string& path,
                                           absl::string_view what,
                                           size_t max_size);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_KMS_SECRET_FILE_H_
