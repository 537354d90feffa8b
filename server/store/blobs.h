// Content-addressed blobs (SHA-256 and size) and the models and datasets that name them.
// The bytes live on disk at `path` (the server's blob directory or a shared lab volume);
// the database records only where and what.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "server/store/db.h"

namespace qbench::store {

struct Blob {
  std::string sha256;  // 32 raw bytes
  int64_t size = 0;    // bytes
  std::string path;
};

// Records a blob. Content already known (same digest) is deduplicated: returns the
// existing row and created = false. INVALID_ARGUMENT for a digest that is not 32 bytes,
// a negative size or an empty path; FAILED_PRECONDITION when the digest is known with a
// different size (a corrupt upload or a collision).
struct PutBlobResult {
  Blob blob;
  bool created = false;
};
absl::StatusOr<PutBlobResult> PutBlob(Db& db, const Blob& blob);

// std::nullopt when unknown (how an upload decides to skip the transfer).
absl::StatusOr<std::optional<Blob>> FindBlob(Db& db, const std::string& sha256);

// Records that a team holds a blob (it uploaded it, or presented its digest and size to a
// server that has it). Idempotent. FAILED_PRECONDITION for an unknown team.
absl::Status AddBlobOwner(Db& db, int64_t team_id, const std::string& sha256, int64_t size);

// Whether the team holds the blob (AddBlobOwner was called for it).
absl::StatusOr<bool> TeamOwnsBlob(Db& db, int64_t team_id, const std::string& sha256);

// Whether a job that a worker holds now (running or cancelling) names the blob as its
// model or one of its datasets: what a worker token may download.
absl::StatusOr<bool> BlobOfAHeldJob(Db& db, const std::string& sha256);

// A model or dataset: an uploaded blob (blob_sha256) or a path workers read directly.
struct Asset {
  int64_t id = 0;
  int64_t team_id = 0;
  std::string name;
  std::optional<std::string> blob_sha256;
  std::optional<std::string> path;
  std::string manifest_json = "{}";  // datasets only
};

// INVALID_ARGUMENT for an empty name or neither blob nor path; FAILED_PRECONDITION for an
// unknown blob or team. Returns the new id.
absl::StatusOr<int64_t> CreateModel(Db& db, const Asset& model);
absl::StatusOr<int64_t> CreateDataset(Db& db, const Asset& dataset);

// NOT_FOUND when absent or owned by another team.
absl::StatusOr<Asset> GetModel(Db& db, int64_t team_id, int64_t model_id);
absl::StatusOr<Asset> GetDataset(Db& db, int64_t team_id, int64_t dataset_id);

}  // namespace qbench::store
