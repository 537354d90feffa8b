// Path helpers for manifests: ${NAME} environment variables and relative paths.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace qbench::data {

// Replaces every ${NAME} with the value of environment variable NAME. NAME is
// [A-Za-z_][A-Za-z0-9_]*. An unset or empty variable, or an unterminated "${", is an
// error naming the variable; a '$' not followed by '{' is kept as is.
absl::StatusOr<std::string> ExpandEnvVars(const std::string& text);

// `path` if absolute, else base_dir/path (lexically normalized). An empty base_dir
// leaves relative paths relative to the working directory.
std::string ResolvePath(const std::string& path, const std::string& base_dir);

}  // namespace qbench::data
