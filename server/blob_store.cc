#include "server/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"

namespace qbench::server {
namespace fs = std::filesystem;

namespace {

// The server's paths stay in the server: clients see what failed, not where.
absl::Status Errno(const char* what, const std::string& /*path*/) {
  return absl::InternalError(absl::StrCat("blob store: ", what, " failed: ", std::strerror(errno)));
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
  BlobStoreOptions o;
  o.max_bytes = max_bytes;
  return Open(data_dir, o);
}

absl::StatusOr<std::unique_ptr<BlobStore>> BlobStore::Open(const std::string& data_dir, const BlobStoreOptions& options) {
  if (data_dir.empty()) return absl::InvalidArgumentError("blob store: data directory is empty");
  std::error_code ec;
  for (const char* sub : {"blobs", "partial"}) {
    fs::create_directories(fs::path(data_dir) / sub, ec);
    if (ec) return absl::InternalError(absl::StrCat("blob store: cannot create \"", data_dir, "/", sub, "\": ", ec.message()));
  }
  std::unique_ptr<BlobStore> store(new BlobStore(data_dir, options));
  // Partials of the old layout (partial/<sha>-<size>, shared by all teams) are dropped.
  for (fs::directory_iterator it(fs::path(data_dir) / "partial", ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code e2;
    if (it->is_regular_file(e2)) fs::remove(it->path(), e2);
  }
  store->CleanAbandonedUploads(options.partial_max_age_seconds);
  return store;
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

// Team ids are names chosen by admins; the folder is a digest of the id, never the id.
std::string BlobStore::TeamDir(const std::string& team) const {
  return absl::StrCat(dir_, "/partial/", Sha256Hex(absl::StrCat("team:", team)).substr(0, 32));
}

std::string BlobStore::PartialPath(const std::string& team, const std::string& sha256, int64_t size) const {
  return absl::StrCat(TeamDir(team), "/", sha256, "-", size);
}

absl::StatusOr<BlobStore::UploadState> BlobStore::GetUploadState(const std::string& team, const std::string& sha256,
                                                                 int64_t size) const {
  if (absl::Status s = CheckKey(sha256, size, ""); !s.ok()) return s;
  UploadState state;
  state.stored = FileSize(FinalPath(sha256)) == size;  // another size: "not stored", no oracle
  state.committed = std::max<int64_t>(0, FileSize(PartialPath(team, sha256, size)));
  return state;
}

int BlobStore::CleanAbandonedUploads(int64_t max_age_seconds) {
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  int removed = 0;
  std::lock_guard<std::mutex> lock(mu_);
  for (fs::directory_iterator team(fs::path(dir_) / "partial", ec), end; !ec && team != end; team.increment(ec)) {
    std::error_code e2;
    if (!team->is_directory(e2)) continue;
    for (fs::directory_iterator it(team->path(), e2), end2; !e2 && it != end2; it.increment(e2)) {
      std::error_code e3;
      const auto mtime = it->last_write_time(e3);
      if (e3 || uploading_.count(it->path().string())) continue;
      if (now - mtime >= std::chrono::seconds(max_age_seconds) && fs::remove(it->path(), e3)) ++removed;
    }
  }
  return removed;
}

void BlobStore::MaybeClean() {
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::steady_clock::now().time_since_epoch()).count();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (last_clean_ != 0 && now - last_clean_ < 300) return;
    last_clean_ = now;
  }
  CleanAbandonedUploads(options_.partial_max_age_seconds);
}

absl::StatusOr<std::unique_ptr<BlobWriter>> BlobStore::BeginUpload(const std::string& team, const std::string& sha256,
                                                                   int64_t size, int64_t offset) {
  MaybeClean();
  auto state = GetUploadState(team, sha256, size);
  if (!state.ok()) return state.status();
  if (offset != 0 && offset != state->committed)
    return absl::FailedPreconditionError(absl::StrCat("header.offset: ", offset, " does not match the ",
                                                      state->committed, " bytes your upload of blobs/", sha256,
                                                      " holds"));
  const std::string path = PartialPath(team, sha256, size);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!uploading_.insert(path).second)
      return absl::AbortedError(absl::StrCat("blobs/", sha256, ": another upload of this blob is in progress"));
  }
  std::error_code ec;
  fs::create_directories(TeamDir(team), ec);
  if (options_.max_partial_bytes_per_team > 0) {
    // Bytes this team already holds in progress, plus what this upload may still add.
    int64_t held = 0;
    for (fs::directory_iterator it(TeamDir(team), ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code e2;
      if (it->path().string() != path && it->is_regular_file(e2)) held += static_cast<int64_t>(it->file_size(e2));
    }
    if (held + size > options_.max_partial_bytes_per_team) {
      Release(path);
      return absl::ResourceExhaustedError(absl::StrCat(
          "header.size_bytes: your uploads in progress would hold ", held + size, " bytes, the limit is ",
          options_.max_partial_bytes_per_team, " (finish or abandon the others first)"));
    }
  }
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (offset == 0 ? O_TRUNC : 0);
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) {
    absl::Status s = absl::InternalError("blob store: cannot open an upload file");
    Release(path);
    return s;
  }
  std::unique_ptr<BlobWriter> w(new BlobWriter(this, team, sha256, size, fd, offset));
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

void BlobStore::Release(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  uploading_.erase(key);
}

BlobWriter::BlobWriter(BlobStore* store, std::string team, std::string sha256, int64_t size, int fd, int64_t committed)
    : store_(store), team_(std::move(team)), sha256_(std::move(sha256)), size_(size), fd_(fd), committed_(committed) {}

BlobWriter::~BlobWriter() {
  if (fd_ >= 0) ::close(fd_);
  store_->Release(store_->PartialPath(team_, sha256_, size_));
}

absl::Status BlobWriter::Append(std::string_view data) {
  if (complete_) {
    if (data.empty()) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("data: more than header.size_bytes (", size_, ") bytes sent"));
  }
  if (static_cast<int64_t>(data.size()) > size_ - committed_)
    return absl::InvalidArgumentError(
        absl::StrCat("data: ", committed_ + static_cast<int64_t>(data.size()), " bytes exceed header.size_bytes (", size_, ")"));
  const std::string path = store_->PartialPath(team_, sha256_, size_);
  if (absl::Status s = WriteAll(fd_, data, path); !s.ok()) return s;
  hash_.Update(data);
  committed_ += static_cast<int64_t>(data.size());
  if (committed_ == size_) return Commit();
  return absl::OkStatus();
}

absl::Status BlobWriter::Commit() {
  const std::string partial = store_->PartialPath(team_, sha256_, size_);
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
  if (FileSize(final_path) == size_) {
    // Stored already: the bytes just proved possession; keep one copy.
    ::unlink(partial.c_str());
    complete_ = true;
    return absl::OkStatus();
  }
  std::error_code ec;
  fs::create_directories(fs::path(final_path).parent_path(), ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create \"", final_path, "\": ", ec.message()));
  if (::rename(partial.c_str(), final_path.c_str()) != 0) return Errno("rename", partial);
  complete_ = true;
  return absl::OkStatus();
}

}  // namespace qbench::server
