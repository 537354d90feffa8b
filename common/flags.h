// Command-line flags from one table per tool: the table drives parsing and --help, so
// they cannot disagree. Flags are "--name VALUE" or boolean "--name".
#pragma once

#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace qbench {

struct FlagSpec {
  const char* name;   // "--model"
  const char* value;  // placeholder shown in help ("M"), nullptr for a boolean flag
  const char* help;
};

// The flags given, in order, as (name, value) pairs (value "" for booleans). An unknown
// argument or a missing value is an error naming it.
inline absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseFlags(int argc, const char* const* argv,
                                                                                   std::span<const FlagSpec> table) {
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const FlagSpec* flag = nullptr;
    for (const FlagSpec& f : table)
      if (a == f.name) flag = &f;
    if (flag == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown argument \"", a, "\""));
    std::string value;
    if (flag->value != nullptr) {
      if (i + 1 >= argc) return absl::InvalidArgumentError(absl::StrCat(a, " needs a value (", flag->value, ")"));
      value = argv[++i];
    }
    out.emplace_back(a, value);
  }
  return out;
}

// One aligned line per flag.
inline std::string FlagHelp(std::span<const FlagSpec> table) {
  std::string out;
  for (const FlagSpec& f : table) absl::StrAppendFormat(&out, "  %-18s %-10s %s\n", f.name, f.value ? f.value : "", f.help);
  return out;
}

// An integer flag value >= min, or an error naming the flag.
inline absl::StatusOr<int64_t> FlagInt(const std::string& flag, const std::string& v, int64_t min) {
  char* end = nullptr;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || x < min)
    return absl::InvalidArgumentError(absl::StrCat(flag, " must be an integer >= ", min, ", got \"", v, "\""));
  return static_cast<int64_t>(x);
}

// A number flag value >= min, or an error naming the flag.
inline absl::StatusOr<double> FlagDouble(const std::string& flag, const std::string& v, double min) {
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !(x >= min))
    return absl::InvalidArgumentError(absl::StrCat(flag, " must be a number >= ", min, ", got \"", v, "\""));
  return x;
}

}  // namespace qbench
