#include "common/json_parse.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace qbench {
namespace {

using json = nlohmann::json;

absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// nlohmann's what() without its "[json.exception.parse_error.101] " tag and without the
// "; last read: '<bytes>'..." tail, which would echo the document.
std::string Describe(const json::exception& e) {
  std::string_view what = e.what();
  if (!what.empty() && what[0] == '[') {
    const size_t close = what.find("] ");
    if (close != std::string_view::npos) what.remove_prefix(close + 2);
  }
  if (const size_t tail = what.find("; last read"); tail != std::string_view::npos) what = what.substr(0, tail);
  return std::string(what);
}

// Largest magnitude below which every integer is exact in a double (2^53).
constexpr double kExactDoubleInts = 9007199254740992.0;

std::string Got(const json& v) { return v.is_number() ? v.dump() : absl::StrCat("a ", v.type_name()); }

}  // namespace

int JsonNestingDepth(std::string_view text, bool allow_comments, int stop_at) {
  int depth = 0, deepest = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {  // skip the string, escapes included
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\') ++i;
    } else if (allow_comments && c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (allow_comments && c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      const size_t end = text.find("*/", i + 2);
      i = end == std::string_view::npos ? text.size() : end + 1;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) deepest = depth;
      if (deepest > stop_at) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

absl::StatusOr<json> ParseJson(std::string_view text, std::string_view document, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes)
    return absl::InvalidArgumentError(
        absl::StrCat(Absl(document), ": is ", text.size(), " bytes, the limit is ", limits.max_bytes));
  if (JsonNestingDepth(text, limits.allow_comments, limits.max_depth) > limits.max_depth)
    return absl::InvalidArgumentError(absl::StrCat(Absl(document), ": nests arrays and objects deeper than ",
                                                   limits.max_depth, " levels"));
  try {
    return json::parse(text.begin(), text.end(), /*cb=*/nullptr, /*allow_exceptions=*/true, limits.allow_comments);
  } catch (const json::out_of_range&) {
    // The only one parse() throws: a number beyond a double's range (1e400).
    return absl::InvalidArgumentError(
        absl::StrCat(Absl(document), ": not valid JSON: a number is too large to represent (beyond about 1.8e308)"));
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(Absl(document), ": not valid JSON: ", Describe(e)));
  }
}

absl::StatusOr<int64_t> JsonInteger(const json& v, int64_t lo, int64_t hi) {
  auto range = [&] { return absl::InvalidArgumentError(absl::StrCat("must be in ", lo, "..", hi, ", got ", Got(v))); };
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (hi < 0 || u > static_cast<uint64_t>(hi)) return range();
    const auto x = static_cast<int64_t>(u);
    if (x < lo) return range();
    return x;
  }
  if (v.is_number_integer()) {
    const int64_t x = v.get<int64_t>();
    if (x < lo || x > hi) return range();
    return x;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || d != std::floor(d))
      return absl::InvalidArgumentError(absl::StrCat("must be an integer, got ", Got(v)));
    if (std::fabs(d) > kExactDoubleInts) return range();
    const auto x = static_cast<int64_t>(d);
    if (x < lo || x > hi) return range();
    return x;
  }
  return absl::InvalidArgumentError(absl::StrCat("must be an integer, got ", Got(v)));
}

absl::StatusOr<uint64_t> JsonUnsigned(const json& v, uint64_t hi) {
  auto range = [&] { return absl::InvalidArgumentError(absl::StrCat("must be in 0..", hi, ", got ", Got(v))); };
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > hi) return range();
    return u;
  }
  if (v.is_number_integer()) return range();  // negative: unsigned ones are caught above
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || d != std::floor(d))
      return absl::InvalidArgumentError(absl::StrCat("must be an integer, got ", Got(v)));
    if (d < 0 || d > kExactDoubleInts) return range();
    const auto u = static_cast<uint64_t>(d);
    if (u > hi) return range();
    return u;
  }
  return absl::InvalidArgumentError(absl::StrCat("must be an integer, got ", Got(v)));
}

absl::StatusOr<double> JsonNumber(const json& v, double lo, double hi) {
  if (!v.is_number()) return absl::InvalidArgumentError(absl::StrCat("must be a number, got ", Got(v)));
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < lo || d > hi)
    return absl::InvalidArgumentError(absl::StrCat("must be in ", lo, "..", hi, ", got ", Got(v)));
  return d;
}

}  // namespace qbench
