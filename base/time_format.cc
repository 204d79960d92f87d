#include "base/time_format.h"

namespace dumpcrypt {

std::string Rfc3339(absl::Time t, bool micros) {
  return absl::FormatTime(
      micros ? "%Y-%m-%dT%H:%M:%E6SZ" : "%Y-%m-%dT%H:%M:%SZ", t,
      absl::UTCTimeZone());
}

std::string Rfc3339Unix(int64_t unix_seconds) {
  if (unix_seconds == 0) return "";
  return Rfc3339(absl::FromUnixSeconds(unix_seconds));
}

}  // namespace dumpcrypt
