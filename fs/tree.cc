#include "fs/tree.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "envelope/envelope.h"

namespace dumpcrypt {

std::vector<std::string> FolderNames::ShownSuffixes(const std::string& native) {
  std::vector<std::string> out;
  for (const EnvelopeFormat* format : EnvelopeFormats()) {
    std::string suffix = format == EnvelopeFormats().front()
                             ? native
                             : std::string(format->suffix());
    if (!suffix.empty() &&
        std::find(out.begin(), out.end(), suffix) == out.end()) {
      out.push_back(std::move(suffix));
    }
  }
  return out;
}

std::string FolderNames::Shown(const std::string& name) const {
  for (size_t i = 0; i < suffixes.size(); ++i) {
    const std::string& suffix = suffixes[i];
    if (name.size() <= suffix.size() || !absl::EndsWith(name, suffix)) continue;
    const std::string stripped = name.substr(0, name.size() - suffix.size());
    if (exists(stripped) || !is_envelope(name)) return name;
    for (size_t j = 0; j < i; ++j) {
      if (is_envelope(stripped + suffixes[j])) return name;
    }
    return stripped;
  }
  return name;
}

absl::StatusOr<std::string> FolderNames::Source(
    const std::string& shown) const {
  if (shown.empty() || shown == "." || shown == ".." ||
      shown.find('/') != std::string::npos) {
    return absl::NotFoundError(shown);
  }
  for (const std::string& suffix : suffixes) {
    const std::string candidate = shown + suffix;
    if (exists(candidate) && Shown(candidate) == shown) return candidate;
  }
  if (exists(shown) && Shown(shown) == shown) return shown;
  return absl::NotFoundError(shown);
}

}  // namespace dumpcrypt
