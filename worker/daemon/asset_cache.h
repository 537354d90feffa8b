// Local copies of a job's inputs. Uploaded blobs are downloaded once into the cache
// directory and kept by content address:
//   <cache>/blobs/<aa>/<sha256 hex>      a model or a dataset archive, digest verified
//   <cache>/datasets/<sha256 hex>/        an archive extracted (into a temporary directory
//                                         renamed into place, so a crash never leaves
//                                         half a dataset behind)
// Shared-path assets are used where they are, after checking they exist. Concurrent
// daemons (threads or processes) sharing a cache serialize on a lock file per blob.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "client/connection.h"
#include "server/store/jobs.h"

namespace qbench::worker {

class AssetCache {
 public:
  // `server`: where blobs are downloaded from; none: only blobs already cached, or whose
  // store path (blobs.path) is readable here, can be used.
  AssetCache(std::string dir, std::optional<client::Connection> server)
      : dir_(std::move(dir)), server_(std::move(server)) {}

  // A model file's local path. `field` names the asset in errors ("model").
  absl::StatusOr<std::string> ModelPath(const store::AssetRef& asset, const std::string& field);

  // A dataset manifest's local path: the shared path itself, or the manifest (default
  // "dataset.json") inside the extracted archive.
  absl::StatusOr<std::string> DatasetManifest(const store::AssetRef& asset, const std::string& field);

  // NOT_FOUND naming `field` and the path when a shared path does not exist here.
  static absl::Status CheckSharedPath(const std::string& path, const std::string& field);

  const std::string& dir() const { return dir_; }

 private:
  // The cached blob file (downloading or copying it first).
  absl::StatusOr<std::string> BlobFile(const store::AssetRef& asset, const std::string& field);

  std::string dir_;
  std::optional<client::Connection> server_;
};

}  // namespace qbench::worker
