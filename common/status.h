// Status helpers shared by every QBench module.
//
// Abseil 20220623 (Debian bookworm) ships absl::Status and absl::StatusOr but no
// RETURN_IF_ERROR / ASSIGN_OR_RETURN macros; these are our prefixed equivalents.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

// Returns from the calling function when `expr` yields a non-OK absl::Status.
#define QB_RETURN_IF_ERROR(expr)                          \
  do {                                                    \
    if (absl::Status qb_status_ = (expr); !qb_status_.ok()) \
      return qb_status_;                                  \
  } while (0)

#define QB_CONCAT_INNER_(a, b) a##b
#define QB_CONCAT_(a, b) QB_CONCAT_INNER_(a, b)

// QB_ASSIGN_OR_RETURN(auto x, MakeX());  or  QB_ASSIGN_OR_RETURN(x, MakeX());
#define QB_ASSIGN_OR_RETURN(lhs, rexpr) \
  QB_ASSIGN_OR_RETURN_IMPL_(QB_CONCAT_(qb_statusor_, __LINE__), lhs, rexpr)
#define QB_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                              \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()

namespace qbench {

// Debian builds Abseil with ABSL_OPTION_USE_STD_STRING_VIEW=0, so absl::string_view is
// a distinct type from std::string_view. These convert explicitly at the boundary.
inline absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

// Prefixes a status message with context ("node \"conv1\": ") keeping its code.
inline absl::Status Annotate(const absl::Status& s, std::string_view context) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(ToAbsl(context), ": ", s.message()));
}

}  // namespace qbench
