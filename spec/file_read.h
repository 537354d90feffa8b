// Bounded whole-file reads of regular files only, shared by the spec readers (dataset
// manifests) and the engine's dataset readers (engine/data/file_util.h). Every error
// names the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace qbench::data {

// Largest file (and largest gunzipped content) a reader loads whole: bounded reads, so a
// hostile dataset fails with RESOURCE_EXHAUSTED instead of eating the worker's memory.
inline constexpr int64_t kMaxDataFileBytes = int64_t{4} << 30;

// Reads the whole file as bytes. Regular files only: a FIFO, device (/dev/zero) or
// folder is INVALID_ARGUMENT without being read (opened non-blocking, checked by fstat);
// a file above `max_bytes` is RESOURCE_EXHAUSTED before anything is allocated.
absl::StatusOr<std::vector<uint8_t>> ReadFileBytes(const std::string& path, int64_t max_bytes = kMaxDataFileBytes);

// The error for a failed open() or fopen() of `path`, from errno: NOT_FOUND when the file
// is missing, INVALID_ARGUMENT otherwise, both naming the file and the reason.
absl::Status OpenError(const std::string& path);

}  // namespace qbench::data
