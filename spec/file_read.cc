#include "spec/file_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace qbench::data {
namespace {

// An open regular file: O_NONBLOCK so that opening a FIFO never waits for a writer, then
// fstat so that only regular files are read.
class RegularFile {
 public:
  ~RegularFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  static absl::StatusOr<RegularFile> Open(const std::string& path, int64_t max_bytes) {
    errno = 0;
    RegularFile f(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (f.fd_ < 0) return OpenError(path);
    struct stat st;
    if (::fstat(f.fd_, &st) != 0) return OpenError(path);
    if (!S_ISREG(st.st_mode)) return absl::InvalidArgumentError(absl::StrCat(path, ": is not a regular file"));
    if (st.st_size > max_bytes)
      return absl::ResourceExhaustedError(
          absl::StrCat(path, ": is ", st.st_size, " bytes, more than the limit of ", max_bytes, " bytes"));
    f.size_ = st.st_size;
    return f;
  }
  RegularFile(RegularFile&& o) noexcept : fd_(std::exchange(o.fd_, -1)), size_(o.size_) {}
  int fd() const { return fd_; }
  int64_t size() const { return size_; }

 private:
  explicit RegularFile(int fd) : fd_(fd) {}
  int fd_;
  int64_t size_ = 0;
};

// Reads up to `n` bytes; fewer only at the end of the file.
absl::StatusOr<size_t> ReadUpTo(int fd, uint8_t* dst, size_t n, const std::string& path) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd, dst + got, n - got);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r < 0) return absl::DataLossError(absl::StrCat(path, ": read error"));
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

}  // namespace

absl::Status OpenError(const std::string& path) {
  const int err = errno;
  const std::string why = err ? std::strerror(err) : "cannot open";
  if (err == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": ", why));
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", why));
}

absl::StatusOr<std::vector<uint8_t>> ReadFileBytes(const std::string& path, int64_t max_bytes) {
  QB_ASSIGN_OR_RETURN(RegularFile f, RegularFile::Open(path, max_bytes));
  std::vector<uint8_t> out(static_cast<size_t>(f.size()));
  QB_ASSIGN_OR_RETURN(size_t got, ReadUpTo(f.fd(), out.data(), out.size(), path));
  out.resize(got);  // shrank while being read: what is there
  // Grew while being read: one more byte tells.
  uint8_t extra;
  QB_ASSIGN_OR_RETURN(size_t more, ReadUpTo(f.fd(), &extra, 1, path));
  if (more != 0) return absl::DataLossError(absl::StrCat(path, ": changed while being read"));
  return out;
}

}  // namespace qbench::data
