// Small file helpers shared by the readers: whole-file reads (plain or gzip), text lines
// and path handling. Every error names the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "spec/file_read.h"  // ReadFileBytes, kMaxDataFileBytes

namespace qbench::data {

// Reads the whole file, gunzipping it when its content starts with the gzip magic
// (1f 8b); any other content is returned as is. The choice is made from the bytes, never
// from the file name, so "x.gz" that is not compressed and "x" that is both work. The
// gunzipped content is capped at `max_bytes` too (a gzip bomb is RESOURCE_EXHAUSTED).
absl::StatusOr<std::vector<uint8_t>> ReadFileMaybeGzip(const std::string& path,
                                                      int64_t max_bytes = kMaxDataFileBytes);

// Gunzips `data` (a gzip stream) with the same cap; `name` is for errors.
absl::StatusOr<std::vector<uint8_t>> GunzipBytes(const uint8_t* data, size_t size, const std::string& name,
                                                int64_t max_bytes = kMaxDataFileBytes);

// Reads a text file as lines with "\r\n" / "\n" endings and trailing blanks removed.
// Blank lines at the end are dropped; a blank line before the last non-blank one is an
// error (it would silently shift every later class index).
absl::StatusOr<std::vector<std::string>> ReadNonEmptyLines(const std::string& path);

struct DirEntry {
  std::string name;  // file name only
  bool is_dir = false;
};

// Lists a directory (no recursion), sorted by name (byte-wise, like Python's sorted()).
// Symlinks are followed to decide is_dir. At most 10 million entries.
absl::StatusOr<std::vector<DirEntry>> ListDir(const std::string& dir);

// Writes bytes to a file, replacing it.
absl::Status WriteFileBytes(const std::string& path, const void* data, size_t size);

}  // namespace qbench::data
