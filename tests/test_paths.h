// Where tests find the project's own files and, optionally, third-party ones.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace qbench::testing {

// The source tree (set by qb_test through QB_SOURCE_DIR; else the current directory), absolute.
inline std::string SourceDir() {
  const char* s = std::getenv("QB_SOURCE_DIR");
  return std::filesystem::absolute(s && *s ? s : ".").lexically_normal().string();
}

// ../shared (third-party models and data), or "" when QB_SHARED is unset: tests that need
// it skip then. When QB_SHARED is set (CI sets it), a missing file is a failure.
inline std::string SharedDir() {
  const char* s = std::getenv("QB_SHARED");
  return s ? s : "";
}

}  // namespace qbench::testing
