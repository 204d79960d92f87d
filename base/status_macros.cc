#include "base/status_macros.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace dumpcrypt {

absl::Status Prefix(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  absl::Status out(status.code(),
                   absl::StrCat(context, ": ", status.message()));
  status.ForEachPayload([&out](absl::string_view url, const absl::Cord& value) {
    out.SetPayload(url, value);
  });
  return out;
}

}  // namespace dumpcrypt
