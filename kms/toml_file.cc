#include "kms/toml_file.h"

#include "absl/strings/str_cat.h"
#include "base/file_io.h"
#include "base/status_macros.h"

namespace dumpcrypt {

absl::StatusOr<toml::table> ReadTomlFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadRegularFile(path, 1 << 20);
  if (!text.ok()) return Prefix(text.status(), path);
  int line = 1;
  for (char c : *text) {
    if (c == '\n') ++line;
    if (static_cast<unsigned char>(c) > 0x7F) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line, ": only ASCII is accepted"));
    }
  }
  try {
    return toml::parse(*text, path);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ":", e.source().begin.line, ": ", std::string(e.description())));
  }
}

}  // namespace dumpcrypt
