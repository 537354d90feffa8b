// Content-addressed blob storage on local disk, with resumable uploads.
//
// Layout under the data directory:
//   blobs/<aa>/<sha256 hex>        complete, verified blobs (aa: the first two hex digits)
//   partial/<sha256 hex>-<size>    uploads in progress; renamed into blobs/ once the last
//                                  byte arrived and the digest matched (atomic on one
//                                  file system), deleted on a digest mismatch
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
  BlobWriter(BlobStore* store, std::string sha256, int64_t size, int fd, int64_t committed);
  absl::Status Commit();

  BlobStore* store_;
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
    bool complete = false;
    int64_t committed = 0;  // bytes held: size when complete, else the partial size
  };

  // Creates the directories under `data_dir`. `max_bytes` caps a blob's size.
  static absl::StatusOr<std::unique_ptr<BlobStore>> Open(const std::string& data_dir, int64_t max_bytes);

  // Validates a digest and size (INVALID_ARGUMENT naming `field_prefix`.sha256 or
  // .size_bytes; RESOURCE_EXHAUSTED above the size limit).
  absl::Status CheckKey(std::string_view sha256, int64_t size, std::string_view field_prefix) const;

  absl::StatusOr<UploadState> GetUploadState(const std::string& sha256, int64_t size) const;

  // Starts or resumes an upload at `offset`, which must be 0 (restart) or the partial
  // size (FAILED_PRECONDITION otherwise). ABORTED while another upload of the same blob
  // runs. Call GetUploadState first: a complete blob needs no writer.
  absl::StatusOr<std::unique_ptr<BlobWriter>> BeginUpload(const std::string& sha256, int64_t size, int64_t offset);

  // The path of a complete blob; NOT_FOUND otherwise.
  absl::StatusOr<std::string> BlobPath(const std::string& sha256) const;

  int64_t max_bytes() const { return max_bytes_; }

 private:
  friend class BlobWriter;
  BlobStore(std::string dir, int64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}
  std::string FinalPath(const std::string& sha256) const;
  std::string PartialPath(const std::string& sha256, int64_t size) const;
  void Release(const std::string& sha256);

  std::string dir_;
  int64_t max_bytes_;
  std::mutex mu_;
  std::set<std::string> uploading_;  // digests with a live writer, guarded by mu_
};

}  // namespace qbench::server
