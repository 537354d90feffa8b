#include "client/args.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace qbench::client {

bool ParsedArgs::Has(std::string_view name) const {
  for (const auto& [n, v] : flags)
    if (n == name) return true;
  return false;
}

std::string ParsedArgs::Value(std::string_view name, const std::string& fallback) const {
  std::string out = fallback;
  for (const auto& [n, v] : flags)
    if (n == name) out = v;
  return out;
}

absl::StatusOr<int64_t> ParsedArgs::Int(std::string_view name, int64_t fallback, int64_t min) const {
  if (!Has(name)) return fallback;
  return FlagInt(std::string(name), Value(name), min);
}

absl::StatusOr<ParsedArgs> ParseArgs(std::span<const std::string> args, std::span<const FlagSpec> table,
                                     bool stop_at_operand) {
  ParsedArgs out;
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool is_flag = !flags_done && a.size() > 1 && a[0] == '-';
    if (!is_flag) {
      if (stop_at_operand) {
        out.operands.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
        return out;
      }
      out.operands.push_back(a);
      continue;
    }
    if (a == "--") {
      flags_done = true;
      continue;
    }
    const size_t eq = a.find('=');
    const std::string name = a.substr(0, eq);
    const FlagSpec* flag = nullptr;
    for (const FlagSpec& f : table)
      if (name == f.name) flag = &f;
    if (flag == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag \"", name, "\""));
    std::string value;
    if (flag->value == nullptr) {
      if (eq != std::string::npos) return absl::InvalidArgumentError(absl::StrCat(name, " takes no value"));
    } else if (eq != std::string::npos) {
      value = a.substr(eq + 1);
    } else {
      if (i + 1 >= args.size()) return absl::InvalidArgumentError(absl::StrCat(name, " needs a value (", flag->value, ")"));
      value = args[++i];
    }
    out.flags.emplace_back(name, value);
  }
  return out;
}

absl::Status CheckOperands(const ParsedArgs& args, int min, int max, const std::string& usage) {
  const int n = static_cast<int>(args.operands.size());
  if (n < min) return absl::InvalidArgumentError(absl::StrCat("missing ", usage));
  if (max >= 0 && n > max)
    return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", args.operands[max], "\" (expected ", usage, ")"));
  return absl::OkStatus();
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(s, ',', absl::SkipWhitespace()))
    out.emplace_back(absl::StripAsciiWhitespace(part));
  return out;
}

}  // namespace qbench::client
