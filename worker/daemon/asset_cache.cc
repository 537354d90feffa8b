#include "worker/daemon/asset_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "client/blob_client.h"
#include "client/dataset_archive.h"
#include "client/tar.h"
#include "common/sha256.h"
#include "common/status.h"
#include "spec/path_util.h"

namespace qbench::worker {
namespace {

namespace fs = std::filesystem;

// An exclusive flock on `path` (created if needed) for the object's lifetime. flock
// locks belong to the open file, so two threads of one process exclude each other too.
class FileLock {
 public:
  explicit FileLock(const std::string& path, int op = LOCK_EX)
      : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ >= 0) ::flock(fd_, op);
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool ok() const { return fd_ >= 0; }
  void Relock(int op) {
    if (fd_ >= 0) ::flock(fd_, op);
  }
  // Hands the descriptor (and its lock) to the caller.
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// Marks an entry as just used (the LRU order is the entries' modification times).
void Touch(const std::string& path) { ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0); }

// Bytes under `path` (a file, or a folder recursively).
int64_t DiskBytes(const fs::path& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return static_cast<int64_t>(fs::file_size(path, ec));
  int64_t total = 0;
  for (fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    std::error_code e2;
    if (it->is_regular_file(e2)) total += static_cast<int64_t>(it->file_size(e2));
  }
  return total;
}

// Sums what an archive would extract to, before anything is written: entries, bytes, and
// bytes against the archive's own size (a gzip bomb is refused unextracted).
absl::Status CheckArchiveSize(const std::string& archive, const AssetCacheLimits& limits, const std::string& field) {
  std::error_code ec;
  const int64_t archive_bytes = static_cast<int64_t>(fs::file_size(archive, ec));
  if (ec) return absl::InternalError(absl::StrCat(field, ": cannot stat the cached archive"));
  QB_ASSIGN_OR_RETURN(auto tar, client::TarReader::Open(archive));
  const int64_t ratio_cap = limits.max_expansion_ratio * archive_bytes + (int64_t{1} << 20);
  int64_t total = 0, entries = 0;
  client::TarEntry e;
  for (;;) {
    absl::StatusOr<bool> more = tar->Next(&e);
    if (!more.ok()) return absl::InvalidArgumentError(absl::StrCat(field, ": the archive is not a valid tar"));
    if (!*more) return absl::OkStatus();
    if (++entries > limits.max_archive_entries)
      return absl::ResourceExhaustedError(
          absl::StrCat(field, ": the archive has more than ", limits.max_archive_entries, " entries"));
    total += std::max<int64_t>(e.size, 0);
    if (total > limits.max_archive_bytes)
      return absl::ResourceExhaustedError(absl::StrCat(field, ": the archive extracts to more than ",
                                                       limits.max_archive_bytes, " bytes"));
    if (total > ratio_cap)
      return absl::ResourceExhaustedError(absl::StrCat(
          field, ": the archive extracts to more than ", limits.max_expansion_ratio, " times its ", archive_bytes,
          " bytes"));
  }
}

std::string UniqueSuffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return absl::StrCat(".tmp-", ::getpid(), "-", rng() % 1000000000);
}

// Copies `src` to `dest` (through a temporary file) when its SHA-256 is `sha256_hex`.
absl::Status CopyVerified(const std::string& src, const std::string& dest, const std::string& sha256_hex,
                          const std::string& field) {
  std::ifstream in(src, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(field, ": cannot read the blob store's copy of blobs/", sha256_hex));
  const std::string tmp = dest + UniqueSuffix();
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) return absl::InternalError(absl::StrCat(field, ": cannot write \"", tmp, "\""));
  Sha256 h;
  std::string buf(1 << 20, '\0');
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const std::streamsize n = in.gcount();
    if (n <= 0) break;
    h.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
    out.write(buf.data(), n);
  }
  out.close();
  std::error_code ec;
  if (!out || h.HexDigest() != sha256_hex) {
    fs::remove(tmp, ec);
    return absl::DataLossError(absl::StrCat(field, ": the blob store's copy does not hold blobs/", sha256_hex));
  }
  fs::rename(tmp, dest, ec);
  if (ec) return absl::InternalError(absl::StrCat(field, ": cannot rename \"", tmp, "\": ", ec.message()));
  return absl::OkStatus();
}

// A manifest path inside an archive: relative, without "..".
absl::Status CheckManifestName(const std::string& name, const std::string& field) {
  const fs::path p(name);
  if (p.is_absolute()) return absl::InvalidArgumentError(absl::StrCat(field, ": manifest \"", name, "\" is absolute"));
  for (const auto& part : p)
    if (part == "..") return absl::InvalidArgumentError(absl::StrCat(field, ": manifest \"", name, "\" leaves the archive"));
  return absl::OkStatus();
}

}  // namespace

AssetCache::AssetCache(std::string dir, std::optional<client::Connection> server,
                       std::optional<std::vector<std::string>> shared_roots, AssetCacheLimits limits)
    : dir_(std::move(dir)), server_(std::move(server)), limits_(limits) {
  if (shared_roots) {
    // A root that does not resolve is left out: it grants nothing.
    shared_roots_.emplace();
    for (const std::string& r : *shared_roots) {
      absl::StatusOr<std::string> real = data::RealPath(r, "--shared-root");
      if (real.ok()) shared_roots_->push_back(*real);
    }
  }
  std::error_code ec;
  fs::create_directories(fs::path(dir_) / "datasets", ec);
  data::ConfineDataAccess(dir_, (fs::path(dir_) / "datasets").string(), shared_roots_);
}

AssetCache::~AssetCache() { ReleasePins(); }

void AssetCache::Pin(const std::string& key, int fd) {
  if (fd < 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::find_if(pins_.begin(), pins_.end(), [&](const auto& p) { return p.first == key; });
  if (it != pins_.end()) {  // already held: keep one lock, make it the newest
    ::close(it->second);
    pins_.erase(it);
  }
  pins_.emplace_back(key, fd);
  while (pins_.size() > kMaxPins) {
    ::close(pins_.front().second);
    pins_.erase(pins_.begin());
  }
}

void AssetCache::ReleasePins() {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, fd] : pins_) ::close(fd);
  pins_.clear();
}

absl::Status AssetCache::CheckSharedPath(const std::string& path, const std::string& field) {
  return data::CheckSharedFile(path, field).status();
}

absl::StatusOr<std::string> AssetCache::SharedFile(const std::string& path, const std::string& field) const {
  QB_ASSIGN_OR_RETURN(std::string real, data::CheckSharedFile(path, field));
  if (shared_roots_) {
    bool inside = false;
    for (const std::string& root : *shared_roots_) inside = inside || data::IsInside(real, root);
    if (!inside)
      return absl::PermissionDeniedError(
          absl::StrCat(field, ": the shared path is outside this worker's shared roots (--shared-root)"));
  }
  return real;
}

absl::StatusOr<std::string> AssetCache::BlobFile(const store::AssetRef& asset, const std::string& field) {
  const std::string hex = HexEncode(*asset.blob_sha256);
  const fs::path dir = fs::path(dir_) / "blobs" / hex.substr(0, 2);
  const std::string dest = (dir / hex).string();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError("cache: cannot create a blob folder");
  // Shared while in use (eviction skips it), exclusive while fetching or evicting.
  FileLock lock(dest + ".lock", LOCK_SH);
  if (!lock.ok()) return absl::InternalError("cache: cannot lock a blob");
  if (fs::exists(dest, ec)) {  // only complete, verified files are ever renamed here
    Touch(dest);
    Pin(dest, lock.release());
    return dest;
  }
  lock.Relock(LOCK_EX);
  if (!fs::exists(dest, ec)) {  // another daemon may have fetched it while we waited
    if (server_) {
      absl::Status s = client::DownloadBlob(*server_, hex, dest);
      if (!s.ok()) return Annotate(s, absl::StrCat(field, ": download of blobs/", hex, " from ", server_->server));
    } else if (!asset.blob_path.empty() && fs::exists(asset.blob_path, ec)) {
      // No server: the blob store's own file, when this machine can read it.
      QB_RETURN_IF_ERROR(CopyVerified(asset.blob_path, dest, hex, field));
    } else {
      return absl::FailedPreconditionError(absl::StrCat(field, ": blobs/", hex,
                                                        " is not cached on this worker and there is no --server to "
                                                        "download it from"));
    }
  }
  lock.Relock(LOCK_SH);
  Touch(dest);
  Pin(dest, lock.release());
  Evict();
  return dest;
}

absl::StatusOr<std::string> AssetCache::ModelPath(const store::AssetRef& asset, const std::string& field) {
  if (asset.blob_sha256) return BlobFile(asset, field);
  if (!asset.path) return absl::InvalidArgumentError(absl::StrCat(field, ": neither blob nor path"));
  return SharedFile(*asset.path, field);
}

absl::StatusOr<std::string> AssetCache::DatasetManifest(const store::AssetRef& asset, const std::string& field) {
  if (!asset.blob_sha256) {
    if (!asset.path) return absl::InvalidArgumentError(absl::StrCat(field, ": neither blob nor path"));
    return SharedFile(*asset.path, field);
  }
  const std::string manifest = asset.manifest.empty() ? "dataset.json" : asset.manifest;
  QB_RETURN_IF_ERROR(CheckManifestName(manifest, field));
  const std::string hex = HexEncode(*asset.blob_sha256);
  const fs::path root = fs::path(dir_) / "datasets";
  const fs::path dir = root / hex;
  std::error_code ec;
  fs::create_directories(root, ec);
  FileLock lock((root / (hex + ".lock")).string(), LOCK_SH);
  if (!lock.ok()) return absl::InternalError("cache: cannot lock a dataset");
  bool fetched = false;
  if (!fs::exists(dir, ec)) {
    lock.Relock(LOCK_EX);
    if (!fs::exists(dir, ec)) {
      QB_ASSIGN_OR_RETURN(std::string archive, BlobFile(asset, field));
      QB_RETURN_IF_ERROR(CheckArchiveSize(archive, limits_, field));
      const std::string tmp = dir.string() + UniqueSuffix();
      fs::remove_all(tmp, ec);
      fs::create_directories(tmp, ec);
      if (absl::Status s = client::ExtractArchive(archive, tmp); !s.ok()) {
        fs::remove_all(tmp, ec);
        // The extractor's message names the cache paths: keep only the code.
        return absl::Status(s.code(), absl::StrCat(field, ": archive blobs/", hex, " cannot be extracted (",
                                                   s.code() == absl::StatusCode::kInvalidArgument
                                                       ? "only regular files and folders with relative names"
                                                       : "write error",
                                                   ")"));
      }
      fs::rename(tmp, dir, ec);
      if (ec) {
        fs::remove_all(tmp, ec);
        return absl::InternalError("cache: cannot move an extracted dataset into place");
      }
      fetched = true;
    }
    lock.Relock(LOCK_SH);
  }
  Touch(dir.string());
  Pin(dir.string(), lock.release());
  if (fetched) Evict();
  const std::string path = (dir / manifest).string();
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return absl::NotFoundError(absl::StrCat(field, ": the archive blobs/", hex, " has no manifest \"", manifest, "\""));
  return path;
}

int64_t AssetCache::Evict() {
  struct Entry {
    fs::path path, lock;
    fs::file_time_type used;
    int64_t bytes;
  };
  std::vector<Entry> entries;
  int64_t total = 0;
  std::error_code ec;
  const fs::path blobs = fs::path(dir_) / "blobs", datasets = fs::path(dir_) / "datasets";
  const auto now = fs::file_time_type::clock::now();
  for (fs::directory_iterator shard(blobs, ec), end; !ec && shard != end; shard.increment(ec)) {
    std::error_code e2;
    for (fs::directory_iterator it(shard->path(), e2), end2; !e2 && it != end2; it.increment(e2)) {
      const std::string name = it->path().filename().string();
      if (name.size() != 64 || !IsSha256Hex(name)) continue;
      std::error_code e3;
      const int64_t bytes = static_cast<int64_t>(it->file_size(e3));
      entries.push_back({it->path(), it->path().string() + ".lock", it->last_write_time(e3), bytes});
      total += bytes;
    }
  }
  for (fs::directory_iterator it(datasets, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code e3;
    if (!it->is_directory(e3)) continue;
    if (name.find(".tmp-") != std::string::npos) {
      // Left by a crashed extraction: gone after an hour.
      if (now - it->last_write_time(e3) > std::chrono::hours(1)) fs::remove_all(it->path(), e3);
      continue;
    }
    if (name.size() != 64 || !IsSha256Hex(name)) continue;
    const int64_t bytes = DiskBytes(it->path());
    entries.push_back({it->path(), (datasets / (name + ".lock")).string(), it->last_write_time(e3), bytes});
    total += bytes;
  }
  if (limits_.max_cache_bytes <= 0 || total <= limits_.max_cache_bytes) return total;
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.used < b.used; });
  for (const Entry& e : entries) {
    if (total <= limits_.max_cache_bytes) break;
    const int fd = ::open(e.lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {  // pinned by a job, or being fetched
      ::close(fd);
      continue;
    }
    // Renamed first so no reader ever sees half of it; then removed.
    const fs::path doomed = e.path.string() + ".evict" + UniqueSuffix();
    std::error_code e4;
    fs::rename(e.path, doomed, e4);
    if (!e4) {
      fs::remove_all(doomed, e4);
      total -= e.bytes;
    }
    ::close(fd);
  }
  return total;
}

}  // namespace qbench::worker
