// A scratch file path under $TMPDIR (or /tmp), removed on destruction: where the CLI
// packs dataset archives before uploading them.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace qbench::client {

class TempFile {
 public:
  // Creates an empty file named <prefix>XXXXXX<suffix>.
  static absl::StatusOr<TempFile> Create(const std::string& prefix, const std::string& suffix);
  TempFile(TempFile&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempFile& operator=(TempFile&& other) noexcept;
  TempFile(const TempFile&) = delete;
  ~TempFile();
  const std::string& path() const { return path_; }

 private:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace qbench::client
