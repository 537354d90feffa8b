// Local copies of a job's inputs. Uploaded blobs are downloaded once into the cache
// directory and kept by content address:
//   <cache>/blobs/<aa>/<sha256 hex>      a model or a dataset archive, digest verified
//   <cache>/datasets/<sha256 hex>/        an archive extracted (into a temporary directory
//                                         renamed into place, so a crash never leaves
//                                         half a dataset behind)
// Shared-path assets are used where they are, after checking their real path: a regular
// file inside the worker's shared roots, never inside the cache. Concurrent daemons
// (threads or processes) sharing a cache serialize on a lock file per blob.
//
// Bounded: an archive is scanned before extraction (at most `max_archive_bytes`
// extracted, `max_expansion_ratio` times its own size, `max_archive_entries` entries),
// and the cache evicts the least recently used blobs and datasets beyond
// `max_cache_bytes`, skipping pinned ones: a shared flock is held on each of the 64
// entries most recently handed out (a job's assets stay pinned while it runs; older pins
// are dropped as new ones come, or all at once by ReleasePins()).
//
// Constructing a cache puts the process under data::ConfineDataAccess: manifests never
// expand ${NAME}, an extracted archive's manifest may only name files inside its own
// folder, and (when shared roots are given) shared manifests only files inside them.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "client/connection.h"
#include "server/store/jobs.h"

namespace qbench::worker {

struct AssetCacheLimits {
  int64_t max_cache_bytes = int64_t{20} << 30;    // LRU eviction beyond this; 0: no limit
  int64_t max_archive_bytes = int64_t{8} << 30;   // extracted bytes of one archive
  int64_t max_expansion_ratio = 100;              // extracted bytes / archive bytes (+ 1 MiB)
  int64_t max_archive_entries = 200000;
};

class AssetCache {
 public:
  // `server`: where blobs are downloaded from; none: only blobs already cached, or whose
  // store path (blobs.path) is readable here, can be used. `shared_roots`: the folders
  // shared paths must resolve into (the daemon's --shared-root; empty: no shared paths);
  // std::nullopt keeps the old behaviour of accepting any readable regular file outside
  // the cache (callers that have not been given roots yet).
  AssetCache(std::string dir, std::optional<client::Connection> server,
             std::optional<std::vector<std::string>> shared_roots = std::nullopt, AssetCacheLimits limits = {});
  ~AssetCache();
  AssetCache(const AssetCache&) = delete;
  AssetCache& operator=(const AssetCache&) = delete;

  // A model file's local path. `field` names the asset in errors ("model").
  absl::StatusOr<std::string> ModelPath(const store::AssetRef& asset, const std::string& field);

  // A dataset manifest's local path: the shared path itself, or the manifest (default
  // "dataset.json") inside the extracted archive.
  absl::StatusOr<std::string> DatasetManifest(const store::AssetRef& asset, const std::string& field);

  // The real path of a shared file a job names (data::CheckSharedFile under the process
  // policy): NOT_FOUND / PERMISSION_DENIED / INVALID_ARGUMENT naming `field`, never the path.
  static absl::Status CheckSharedPath(const std::string& path, const std::string& field);

  // Lets eviction remove what this cache handed out so far (call when a job ends).
  void ReleasePins();

  // Evicts least recently used entries until the cache holds at most max_cache_bytes
  // (pinned entries stay). Returns the bytes held afterwards. Called after every fetch.
  int64_t Evict();

  const std::string& dir() const { return dir_; }

 private:
  // The cached blob file (downloading or copying it first), pinned.
  absl::StatusOr<std::string> BlobFile(const store::AssetRef& asset, const std::string& field);
  absl::StatusOr<std::string> SharedFile(const std::string& path, const std::string& field) const;
  void Pin(const std::string& key, int fd);
  static constexpr size_t kMaxPins = 64;

  std::string dir_;
  std::optional<client::Connection> server_;
  std::optional<std::vector<std::string>> shared_roots_;  // real paths
  AssetCacheLimits limits_;
  std::mutex mu_;
  std::vector<std::pair<std::string, int>> pins_;  // entry -> lock fd held LOCK_SH, oldest first; mu_
};

}  // namespace qbench::worker
