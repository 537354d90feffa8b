// The Blobs gRPC service: thin reactors over BlobStore.
#pragma once

#include "qbench/v1/qbench.grpc.pb.h"
#include "server/auth.h"
#include "server/blob_store.h"

namespace qbench::server {

// Largest data chunk accepted in one Upload message.
inline constexpr int64_t kMaxChunkBytes = 1 << 20;

// Which teams hold which blobs (the store's blob_owners table). A team holds a blob once
// it uploaded its bytes (every byte, digest verified, even when the server already had
// them); it may then reference and download it. Knowing a digest and size is not enough.
// Admin tokens (workers) may download any blob. Thread-safe.
class BlobOwners {
 public:
  virtual ~BlobOwners() = default;
  virtual absl::Status Add(const std::string& team_id, const std::string& sha256_hex, int64_t size) = 0;
  virtual absl::StatusOr<bool> Owns(const std::string& team_id, const std::string& sha256_hex) = 0;
  // Whether a job some worker holds now names the blob (what worker tokens may read).
  virtual absl::StatusOr<bool> HeldByAWorker(const std::string& sha256_hex) = 0;
};

class BlobsService final : public qbench::v1::Blobs::CallbackService {
 public:
  // `owners` may be null (no store): then every authenticated caller may read every blob.
  BlobsService(BlobStore* store, const TokenVerifier* verifier, BlobOwners* owners = nullptr)
      : store_(store), verifier_(verifier), owners_(owners) {}

  grpc::ServerReadReactor<qbench::v1::UploadRequest>* Upload(grpc::CallbackServerContext* ctx,
                                                              qbench::v1::UploadResponse* response) override;
  grpc::ServerUnaryReactor* GetUploadStatus(grpc::CallbackServerContext* ctx,
                                            const qbench::v1::GetUploadStatusRequest* request,
                                            qbench::v1::UploadStatus* response) override;
  grpc::ServerWriteReactor<qbench::v1::DownloadResponse>* Download(grpc::CallbackServerContext* ctx,
                                                                   const qbench::v1::DownloadRequest* request) override;

 private:
  BlobStore* store_;
  const TokenVerifier* verifier_;
  BlobOwners* owners_;
};

}  // namespace qbench::server
