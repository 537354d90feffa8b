// Command-line arguments for the qbench CLI: flags from a FlagSpec table (common/flags.h,
// so the same table prints the help) mixed with operands ("submit spec.json --wait").
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/flags.h"

namespace qbench::client {

struct ParsedArgs {
  std::vector<std::pair<std::string, std::string>> flags;  // (name, value), in order; "" for booleans
  std::vector<std::string> operands;

  bool Has(std::string_view name) const;
  // The last value given for `name`, or `fallback`.
  std::string Value(std::string_view name, const std::string& fallback = "") const;
  // An integer flag >= min (INVALID_ARGUMENT naming the flag), or `fallback` when absent.
  absl::StatusOr<int64_t> Int(std::string_view name, int64_t fallback, int64_t min) const;
};

// Flags are "--name VALUE", "--name=VALUE" or boolean "--name"; "--" ends the flags.
// With `stop_at_operand` (global flags before the command), the first operand and
// everything after it go to `operands` unparsed. Unknown flags and missing values are
// INVALID_ARGUMENT naming them.
absl::StatusOr<ParsedArgs> ParseArgs(std::span<const std::string> args, std::span<const FlagSpec> table,
                                     bool stop_at_operand = false);

// INVALID_ARGUMENT unless min <= operands <= max (max < 0: unbounded); `usage` names them.
absl::Status CheckOperands(const ParsedArgs& args, int min, int max, const std::string& usage);

// "a, b,,c" -> {"a", "b", "c"}.
std::vector<std::string> SplitList(const std::string& s);

}  // namespace qbench::client
