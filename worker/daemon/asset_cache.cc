#include "worker/daemon/asset_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "client/blob_client.h"
#include "client/dataset_archive.h"
#include "common/sha256.h"
#include "common/status.h"

namespace qbench::worker {
namespace {

namespace fs = std::filesystem;

// An exclusive flock on `path` (created if needed) for the object's lifetime. flock
// locks belong to the open file, so two threads of one process exclude each other too.
class FileLock {
 public:
  explicit FileLock(const std::string& path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

std::string UniqueSuffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return absl::StrCat(".tmp-", ::getpid(), "-", rng() % 1000000000);
}

// Copies `src` to `dest` (through a temporary file) when its SHA-256 is `sha256_hex`.
absl::Status CopyVerified(const std::string& src, const std::string& dest, const std::string& sha256_hex,
                          const std::string& field) {
  std::ifstream in(src, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(field, ": cannot read \"", src, "\""));
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
    return absl::DataLossError(absl::StrCat(field, ": \"", src, "\" does not hold blobs/", sha256_hex));
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

absl::Status AssetCache::CheckSharedPath(const std::string& path, const std::string& field) {
  std::error_code ec;
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": empty shared path"));
  if (!fs::exists(path, ec))
    return absl::NotFoundError(absl::StrCat(field, ": shared path \"", path, "\" does not exist on this worker"));
  return absl::OkStatus();
}

absl::StatusOr<std::string> AssetCache::BlobFile(const store::AssetRef& asset, const std::string& field) {
  const std::string hex = HexEncode(*asset.blob_sha256);
  const fs::path dir = fs::path(dir_) / "blobs" / hex.substr(0, 2);
  const std::string dest = (dir / hex).string();
  std::error_code ec;
  if (fs::exists(dest, ec)) return dest;  // only complete, verified files are ever renamed here
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cache: cannot create \"", dir.string(), "\": ", ec.message()));
  FileLock lock(dest + ".lock");
  if (!lock.ok()) return absl::InternalError(absl::StrCat("cache: cannot lock \"", dest, ".lock\""));
  if (fs::exists(dest, ec)) return dest;  // another daemon fetched it while we waited
  if (server_) {
    absl::Status s = client::DownloadBlob(*server_, hex, dest);
    if (!s.ok()) return Annotate(s, absl::StrCat(field, ": download of blobs/", hex, " from ", server_->server));
    return dest;
  }
  // No server: the blob store's own file, when this machine can read it.
  if (!asset.blob_path.empty() && fs::exists(asset.blob_path, ec)) {
    QB_RETURN_IF_ERROR(CopyVerified(asset.blob_path, dest, hex, field));
    return dest;
  }
  return absl::FailedPreconditionError(absl::StrCat(field, ": blobs/", hex,
                                                    " is not cached on this worker and there is no --server to "
                                                    "download it from"));
}

absl::StatusOr<std::string> AssetCache::ModelPath(const store::AssetRef& asset, const std::string& field) {
  if (asset.blob_sha256) return BlobFile(asset, field);
  if (!asset.path) return absl::InvalidArgumentError(absl::StrCat(field, ": neither blob nor path"));
  QB_RETURN_IF_ERROR(CheckSharedPath(*asset.path, field));
  return *asset.path;
}

absl::StatusOr<std::string> AssetCache::DatasetManifest(const store::AssetRef& asset, const std::string& field) {
  if (!asset.blob_sha256) {
    if (!asset.path) return absl::InvalidArgumentError(absl::StrCat(field, ": neither blob nor path"));
    QB_RETURN_IF_ERROR(CheckSharedPath(*asset.path, field));
    return *asset.path;
  }
  const std::string manifest = asset.manifest.empty() ? "dataset.json" : asset.manifest;
  QB_RETURN_IF_ERROR(CheckManifestName(manifest, field));
  const std::string hex = HexEncode(*asset.blob_sha256);
  const fs::path root = fs::path(dir_) / "datasets";
  const fs::path dir = root / hex;
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    QB_ASSIGN_OR_RETURN(std::string archive, BlobFile(asset, field));
    fs::create_directories(root, ec);
    FileLock lock((root / (hex + ".lock")).string());
    if (!lock.ok()) return absl::InternalError(absl::StrCat("cache: cannot lock \"", dir.string(), ".lock\""));
    if (!fs::exists(dir, ec)) {
      const std::string tmp = dir.string() + UniqueSuffix();
      fs::remove_all(tmp, ec);
      fs::create_directories(tmp, ec);
      if (absl::Status s = client::ExtractArchive(archive, tmp); !s.ok()) {
        fs::remove_all(tmp, ec);
        return Annotate(s, absl::StrCat(field, ": archive blobs/", hex));
      }
      fs::rename(tmp, dir, ec);
      if (ec) {
        fs::remove_all(tmp, ec);
        return absl::InternalError(absl::StrCat("cache: cannot rename into \"", dir.string(), "\""));
      }
    }
  }
  const std::string path = (dir / manifest).string();
  if (!fs::exists(path, ec))
    return absl::NotFoundError(absl::StrCat(field, ": the archive blobs/", hex, " has no manifest \"", manifest, "\""));
  return path;
}

}  // namespace qbench::worker
