// JSON from outside the process (job specs, configurations, manifests): parsed with limits
// on size and nesting depth, every nlohmann exception caught, errors as absl::Status
// naming the document. Nothing a client sends can throw past a handler or overflow the
// stack in a later dump() or copy (both recurse once per nesting level).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace qbench {

struct JsonLimits {
  size_t max_bytes = size_t{16} << 20;  // the whole document
  int max_depth = 64;                   // nested arrays and objects ({"a": [1]} is depth 2)
  bool allow_comments = false;          // "//" and "/* */" outside strings
};

// Parses `text`. INVALID_ARGUMENT starting with `document` ("job spec: ...") for a
// document over the limits or not valid JSON: a syntax error says where (line, column)
// but never echoes the document's bytes; a number too large for a double (1e400) is an
// error, not an exception.
absl::StatusOr<nlohmann::json> ParseJson(std::string_view text, std::string_view document,
                                         const JsonLimits& limits = {});

// The deepest nesting of arrays and objects in `text`, counted outside strings (and
// comments, when allowed); stops counting once past `stop_at`. Exposed for tests.
int JsonNestingDepth(std::string_view text, bool allow_comments, int stop_at);

// A JSON number that must be an integer in [lo, hi], read in the widest type before any
// narrowing: integers as int64/uint64, and floats only when integral ("1e6" is one
// million; 1.5 is not an integer). The error message names no field: callers prefix it
// ("must be an integer in 1..4096, got 1.5"). Requires lo <= hi.
absl::StatusOr<int64_t> JsonInteger(const nlohmann::json& v, int64_t lo, int64_t hi);
// The same for an unsigned 64-bit value in [0, hi] (seeds).
absl::StatusOr<uint64_t> JsonUnsigned(const nlohmann::json& v, uint64_t hi = UINT64_MAX);
// A finite JSON number in [lo, hi].
absl::StatusOr<double> JsonNumber(const nlohmann::json& v, double lo, double hi);

}  // namespace qbench
