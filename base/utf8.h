// UTF-8 checks for the text fields of headers.
#ifndef DUMPCRYPT_BASE_UTF8_H_
#define DUMPCRYPT_BASE_UTF8_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace dumpcrypt {

// IsValidUtf8 checks `s` is well-formed UTF-8 (no overlongs, no surrogates).
bool IsValidUtf8(absl::string_view s);

// ToValidText returns `s` with each byte that is not part of well-formed
// UTF-8, and each control character, replaced by U+FFFD, cut at a character
// boundary to at most `max_size` bytes. Sets *changed to whether the result
// differs from `s`.
std::string ToValidText(absl::string_view s, size_t max_size, bool* changed);

// ValidateText checks `value` is the text of a header field named `field`:
// `min` to `max` bytes of UTF-8 without control characters (0x00-0x1F,
// 0x7F). INVALID_ARGUMENT naming the field otherwise.
absl::Status ValidateText(absl::string_view field, absl::string_view value,
                          size_t min, size_t max);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_BASE_UTF8_H_
