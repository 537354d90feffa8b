// Content-addressed blob storage on local disk, with resumable uploads.
//
// Layout under the data directory:
//   blobs/<aa>/<sha256 hex>        complete, verified blobs (aa: the first two hex digits)
//   partial/<team key>/<sha256 hex>-<size>
//                                  uploads in progress, private to the uploading team (no
//                                  other team sees, resumes or truncates them); renamed
//                                  into blobs/ once the last byte arrived and the digest
//                                  matched (atomic on one file system), deleted on a
//                                  digest mismatch, and deleted when abandoned (untouched
//                                  for partial_max_age)
// A team that uploads content already stored sends every byte again and its digest is
// verified: the bytes are the proof of possession (the partial is then dropped).
// No gRPC here: the Blobs service adapts this to the wire.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/sha256.h"

namespace qbench::server {

class BlobStore;

// Appends the bytes of one upload. Not thread-safe (one per call). Destroying a writer
// before completion keeps the partial data for a later resume.
struct BlobStoreOptions {
  int64_t max_bytes = int64_t{4} << 30;           // one blob's size limit
  int64_t partial_max_age_seconds = 24 * 3600;    // abandoned partial uploads are deleted after this
  int64_t max_partial_bytes_per_team = int64_t{16} << 30;  // uploads in progress, per team; 0: no limit
};

class BlobWriter {
 public:
  ~BlobWriter();
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  // Appends `data`; INVALID_ARGUMENT when it would exceed the declared size. When the
  // last byte arrives, verifies the digest (INVALID_ARGUMENT on a mismatch, the partial
  // data is discarded) and stores the blob.
  absl::Status Append(std::string_view data);
  bool complete() const { return complete_; }
  int64_t committed() const { return committed_; }

 private:
  friend class BlobStore;
  BlobWriter(BlobStore* store, std::string team, std::string sha256, int64_t size, int fd, int64_t committed);
  absl::Status Commit();

  BlobStore* store_;
  std::string team_;
  std::string sha256_;
  int64_t size_;
  int fd_;
  int64_t committed_;
  bool complete_ = false;
  Sha256 hash_;
};

class BlobStore {
 public:
  struct UploadState {
    bool stored = false;    // the content is stored (by anyone): whether the caller may
                            // use it is the service's question (ownership)
    int64_t committed = 0;  // bytes of this team's own partial upload
  };

  // Creates the directories under `data_dir`. `max_bytes` caps a blob's size.
  static absl::StatusOr<std::unique_ptr<BlobStore>> Open(const std::string& data_dir, int64_t max_bytes);
  static absl::StatusOr<std::unique_ptr<BlobStore>> Open(const std::string& data_dir, const BlobStoreOptions& options);

  // Validates a digest and size (INVALID_ARGUMENT naming `field_prefix`.sha256 or
  // .size_bytes; RESOURCE_EXHAUSTED above the size limit).
  absl::Status CheckKey(std::string_view sha256, int64_t size, std::string_view field_prefix) const;

  // `stored` only when a blob of that digest and exactly that size is stored (a wrong
  // size is answered as "not stored", never with the real size); `committed` counts only
  // `team`'s own partial upload.
  absl::StatusOr<UploadState> GetUploadState(const std::string& team, const std::string& sha256, int64_t size) const;

  // Starts or resumes `team`'s upload at `offset`, which must be 0 (restart) or the
  // team's partial size (FAILED_PRECONDITION otherwise). ABORTED while another upload of
  // the same blob by the same team runs; RESOURCE_EXHAUSTED beyond the team's quota of
  // bytes in progress. Works for stored content too (the bytes prove possession).
  absl::StatusOr<std::unique_ptr<BlobWriter>> BeginUpload(const std::string& team, const std::string& sha256,
                                                          int64_t size, int64_t offset);

  // Deletes partial uploads untouched for `max_age_seconds` (no live writer). Returns how
  // many. BeginUpload runs it every few minutes with the configured age.
  int CleanAbandonedUploads(int64_t max_age_seconds);

  // The path of a complete blob; NOT_FOUND otherwise.
  absl::StatusOr<std::string> BlobPath(const std::string& sha256) const;

  int64_t max_bytes() const { return max_bytes_; }

 private:
  friend class BlobWriter;
  BlobStore(std::string dir, const BlobStoreOptions& o) : dir_(std::move(dir)), max_bytes_(o.max_bytes), options_(o) {}
  std::string FinalPath(const std::string& sha256) const;
  std::string TeamDir(const std::string& team) const;
  std::string PartialPath(const std::string& team, const std::string& sha256, int64_t size) const;
  void Release(const std::string& key);
  void MaybeClean();

  std::string dir_;
  int64_t max_bytes_;
  BlobStoreOptions options_;
  std::mutex mu_;
  std::set<std::string> uploading_;  // partial paths with a live writer, guarded by mu_
  int64_t last_clean_ = 0;           // steady seconds, guarded by mu_
};

}  // namespace qbench::server
