#include "client/temp_file.h"

#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace qbench::client {

absl::StatusOr<TempFile> TempFile::Create(const std::string& prefix, const std::string& suffix) {
  const char* dir = std::getenv("TMPDIR");
  std::string tmpl = absl::StrCat(dir != nullptr && *dir != '\0' ? dir : "/tmp", "/", prefix, "XXXXXX", suffix);
  const int fd = ::mkstemps(tmpl.data(), static_cast<int>(suffix.size()));
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot create a temporary file ", tmpl, ": ", std::strerror(errno)));
  ::close(fd);
  return TempFile(tmpl);
}

TempFile& TempFile::operator=(TempFile&& other) noexcept {
  if (this != &other) {
    if (!path_.empty()) ::unlink(path_.c_str());
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

TempFile::~TempFile() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

}  // namespace qbench::client
