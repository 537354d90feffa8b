#include "server/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"

namespace qbench::server {
namespace fs = std::filesystem;

namespace {

absl::Status Errno(const char* what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " \"", path, "\": ", std::strerror(errno)));
}

// Size of a regular file, or -1 when it does not exist.
int64_t FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return -1;
  return st.st_size;
}

absl::Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// Feeds the first `size` bytes of an open file to `hash` (to resume an upload).
absl::Status HashPrefix(int fd, int64_t size, Sha256& hash, const std::string& path) {
  std::vector<char> buf(1 << 20);
  int64_t off = 0;
  while (off < size) {
    ssize_t n = ::pread(fd, buf.data(), std::min<int64_t>(buf.size(), size - off), off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("read", path);
    hash.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
    off += n;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<BlobStore>> BlobStore::Open(const std::string& data_dir, int64_t max_bytes) {
  if (data_dir.empty()) return absl::InvalidArgumentError("blob store: data directory is empty");
  std::error_code ec;
  for (const char* sub : {"blobs", "partial"}) {
    fs::create_directories(fs::path(data_dir) / sub, ec);
    if (ec) return absl::InternalError(absl::StrCat("blob store: cannot create \"", data_dir, "/", sub, "\": ", ec.message()));
  }
  return std::unique_ptr<BlobStore>(new BlobStore(data_dir, max_bytes));
}

absl::Status BlobStore::CheckKey(std::string_view sha256, int64_t size, std::string_view field_prefix) const {
  const std::string p(field_prefix);
  if (!IsSha256Hex(sha256))
    return absl::InvalidArgumentError(absl::StrCat(p, "sha256: must be 64 lower-case hex characters"));
  if (size <= 0) return absl::InvalidArgumentError(absl::StrCat(p, "size_bytes: must be > 0, got ", size));
  if (size > max_bytes_)
    return absl::ResourceExhaustedError(
        absl::StrCat(p, "size_bytes: ", size, " bytes exceeds the server's upload limit of ", max_bytes_, " bytes"));
  return absl::OkStatus();
}

std::string BlobStore::FinalPath(const std::string& sha256) const {
  return absl::StrCat(dir_, "/blobs/", sha256.substr(0, 2), "/", sha256);
}

std::string BlobStore::PartialPath(const std::string& sha256, int64_t size) const {
  return absl::StrCat(dir_, "/partial/", sha256, "-", size);
}

absl::StatusOr<BlobStore::UploadState> BlobStore::GetUploadState(const std::string& sha256, int64_t size) const {
  if (absl::Status s = CheckKey(sha256, size, ""); !s.ok()) return s;
  const int64_t final_size = FileSize(FinalPath(sha256));
  if (final_size >= 0) {
    if (final_size != size)
      return absl::InvalidArgumentError(
          absl::StrCat("size_bytes: blobs/", sha256, " is stored with ", final_size, " bytes, not ", size));
    return UploadState{true, size};
  }
  return UploadState{false, std::max<int64_t>(0, FileSize(PartialPath(sha256, size)))};
}

absl::StatusOr<std::unique_ptr<BlobWriter>> BlobStore::BeginUpload(const std::string& sha256, int64_t size,
                                                                   int64_t offset) {
  auto state = GetUploadState(sha256, size);
  if (!state.ok()) return state.status();
  if (state->complete) return absl::AlreadyExistsError(absl::StrCat("blobs/", sha256, " is already stored"));
  if (offset != 0 && offset != state->committed)
    return absl::FailedPreconditionError(absl::StrCat("header.offset: ", offset, " does not match the ",
                                                      state->committed, " bytes the server holds for blobs/", sha256));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!uploading_.insert(sha256).second)
      return absl::AbortedError(absl::StrCat("blobs/", sha256, ": another upload of this blob is in progress"));
  }
  const std::string path = PartialPath(sha256, size);
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (offset == 0 ? O_TRUNC : 0);
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) {
    absl::Status s = Errno("open", path);
    Release(sha256);
    return s;
  }
  std::unique_ptr<BlobWriter> w(new BlobWriter(this, sha256, size, fd, offset));
  if (offset > 0) {
    // Resume: re-hash what is on disk, and append after it.
    int rfd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (rfd < 0) return Errno("open", path);
    absl::Status s = HashPrefix(rfd, offset, w->hash_, path);
    ::close(rfd);
    if (!s.ok()) return s;
    if (::lseek(fd, offset, SEEK_SET) < 0) return Errno("seek", path);
  }
  return w;
}

absl::StatusOr<std::string> BlobStore::BlobPath(const std::string& sha256) const {
  if (!IsSha256Hex(sha256)) return absl::InvalidArgumentError("name: expected \"blobs/<64 lower-case hex>\"");
  std::string path = FinalPath(sha256);
  if (FileSize(path) < 0) return absl::NotFoundError(absl::StrCat("blobs/", sha256, " not found"));
  return path;
}

void BlobStore::Release(const std::string& sha256) {
  std::lock_guard<std::mutex> lock(mu_);
  uploading_.erase(sha256);
}

BlobWriter::BlobWriter(BlobStore* store, std::string sha256, int64_t size, int fd, int64_t committed)
    : store_(store), sha256_(std::move(sha256)), size_(size), fd_(fd), committed_(committed) {}

BlobWriter::~BlobWriter() {
  if (fd_ >= 0) ::close(fd_);
  store_->Release(sha256_);
}

absl::Status BlobWriter::Append(std::string_view data) {
  if (complete_) {
    if (data.empty()) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("data: more than header.size_bytes (", size_, ") bytes sent"));
  }
  if (static_cast<int64_t>(data.size()) > size_ - committed_)
    return absl::InvalidArgumentError(
        absl::StrCat("data: ", committed_ + static_cast<int64_t>(data.size()), " bytes exceed header.size_bytes (", size_, ")"));
  const std::string path = store_->PartialPath(sha256_, size_);
  if (absl::Status s = WriteAll(fd_, data, path); !s.ok()) return s;
  hash_.Update(data);
  committed_ += static_cast<int64_t>(data.size());
  if (committed_ == size_) return Commit();
  return absl::OkStatus();
}

absl::Status BlobWriter::Commit() {
  const std::string partial = store_->PartialPath(sha256_, size_);
  const std::string digest = hash_.HexDigest();
  if (::fsync(fd_) != 0) return Errno("fsync", partial);
  ::close(fd_);
  fd_ = -1;
  if (digest != sha256_) {
    ::unlink(partial.c_str());
    return absl::InvalidArgumentError(
        absl::StrCat("header.sha256: the content's digest is ", digest, ", not ", sha256_, "; upload discarded"));
  }
  const std::string final_path = store_->FinalPath(sha256_);
  std::error_code ec;
  fs::create_directories(fs::path(final_path).parent_path(), ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create \"", final_path, "\": ", ec.message()));
  if (::rename(partial.c_str(), final_path.c_str()) != 0) return Errno("rename", partial);
  complete_ = true;
  return absl::OkStatus();
}

}  // namespace qbench::server
