// RFC 3339 timestamps in UTC, as every output of dumpcrypt writes them.
#ifndef DUMPCRYPT_BASE_TIME_FORMAT_H_
#define DUMPCRYPT_BASE_TIME_FORMAT_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace dumpcrypt {

// Rfc3339 formats `t` as "2026-11-28T17:40:00Z"; with `micros`, as
// "2026-11-28T17:40:00.123456Z".
std::string Rfc3339(absl::Time t, bool micros = false);

// Rfc3339Unix is Rfc3339 of Unix seconds, or "" for 0 (unknown).
std::string Rfc3339Unix(int64_t unix_seconds);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_BASE_TIME_FORMAT_H_
