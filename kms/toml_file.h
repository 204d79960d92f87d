// ReadTomlFile: a configuration file read and parsed as TOML, with the
// guards toml++ 3.3 needs.
#ifndef DUMPCRYPT_KMS_TOML_FILE_H_
#define DUMPCRYPT_KMS_TOML_FILE_H_

#include <string>

#include "absl/status/statusor.h"

// toml++ 3.3 asserts on some malformed input (a table header cut by a
// newline) before reporting the parse error it then finds: let it report.
#define TOML_ASSERT(expr) static_cast<void>(0)
#include "toml++/toml.h"

namespace dumpcrypt {

// ReadTomlFile reads `path` (a regular file of at most 1 MiB) and parses
// it. INVALID_ARGUMENT "PATH:LINE: why" for a parse error or a byte above
// 0x7F (toml++ 3.3 reaches undefined behaviour on some non-ASCII characters
// outside strings); the file's own error, prefixed with PATH, if it cannot
// be read.
absl::StatusOr<toml::table> ReadTomlFile(const std::string& path);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_KMS_TOML_FILE_H_
