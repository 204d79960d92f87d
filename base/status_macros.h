// Small Status helpers: Debian's Abseil 20220623 has no status macros.
#ifndef DUMPCRYPT_BASE_STATUS_MACROS_H_
#define DUMPCRYPT_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#define DC_CONCAT_INNER_(a, b) a##b
#define DC_CONCAT_(a, b) DC_CONCAT_INNER_(a, b)

// DC_RETURN_IF_ERROR(expr): returns the Status of `expr` if it is not OK.
#define DC_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status dc_status_ = (expr);      \
    if (!dc_status_.ok()) return dc_status_; \
  } while (0)

// DC_ASSIGN_OR_RETURN(lhs, expr): evaluates the StatusOr `expr`; returns its
// Status on error, else moves the value into `lhs` (which may declare).
#define DC_ASSIGN_OR_RETURN(lhs, expr) \
  DC_ASSIGN_OR_RETURN_IMPL_(DC_CONCAT_(dc_statusor_, __LINE__), lhs, expr)
#define DC_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return std::move(tmp).status();  \
  lhs = std::move(tmp).value()

namespace dumpcrypt {

// Prefix returns `status` with `context + ": "` put before its message,
// keeping its code and payloads. OK stays OK.
absl::Status Prefix(const absl::Status& status, absl::string_view context);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_BASE_STATUS_MACROS_H_
