#include "base/utf8.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace dumpcrypt {
namespace {

// Utf8CharLength is the length of the well-formed UTF-8 character that `s`
// starts with, or 0.
size_t Utf8CharLength(absl::string_view s) {
  const unsigned char c = static_cast<unsigned char>(s[0]);
  size_t n;
  uint32_t cp;
  if (c < 0x80) {
    return 1;
  } else if ((c & 0xe0) == 0xc0) {
    n = 1;
    cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    n = 2;
    cp = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    n = 3;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (s.size() <= n) return 0;
  for (size_t k = 1; k <= n; ++k) {
    const unsigned char cc = static_cast<unsigned char>(s[k]);
    if ((cc & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3f);
  }
  static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  return n + 1;
}

}  // namespace

bool IsValidUtf8(absl::string_view s) {
  for (size_t i = 0, n; i < s.size(); i += n) {
    n = Utf8CharLength(s.substr(i));
    if (n == 0) return false;
  }
  return true;
}

std::string ToValidText(absl::string_view s, size_t max_size, bool* changed) {
  constexpr absl::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8CharLength(s.substr(i));
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const bool control = n == 1 && (c < 0x20 || c == 0x7f);
    const absl::string_view piece =
        n == 0 || control ? kReplacement : s.substr(i, n);
    if (out.size() + piece.size() > max_size) break;
    out.append(piece.data(), piece.size());
    i += n == 0 ? 1 : n;
  }
  *changed = out != s;
  return out;
}

absl::Status ValidateText(absl::string_view field, absl::string_view value,
                          size_t min, size_t max) {
  if (value.size() < min || value.size() > max) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s must be %d to %d bytes, got %d", field, min, max, value.size()));
  }
  if (!IsValidUtf8(value)) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is not UTF-8"));
  }
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " contains a control character"));
    }
  }
  return absl::OkStatus();
}

}  // namespace dumpcrypt
