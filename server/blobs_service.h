// The Blobs gRPC service: thin reactors over BlobStore.
#pragma once

#include "qbench/v1/qbench.grpc.pb.h"
#include "server/auth.h"
#include "server/blob_store.h"

namespace qbench::server {

// Largest data chunk accepted in one Upload message.
inline constexpr int64_t kMaxChunkBytes = 1 << 20;

class BlobsService final : public qbench::v1::Blobs::CallbackService {
 public:
  BlobsService(BlobStore* store, const TokenVerifier* verifier) : store_(store), verifier_(verifier) {}

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
};

}  // namespace qbench::server
