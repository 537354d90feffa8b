// Assembles the QBench gRPC server: services, health checking, reflection, TLS.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <grpcpp/server.h>

#include "absl/status/statusor.h"
#include "server/admin_service.h"
#include "server/auth.h"
#include "server/blob_store.h"
#include "server/blobs_service.h"
#include "server/devices_service.h"
#include "server/job_repository.h"
#include "server/jobs_service.h"
#include "server/watch_hub.h"

namespace qbench::server {

struct ServerOptions {
  std::string listen = "127.0.0.1:50051";  // host:port; port 0 picks a free one
  std::string tls_cert, tls_key;           // PEM file paths; both or neither
  bool insecure = false;                   // plaintext, only when asked for explicitly
  std::string data_dir;                    // blobs live under <data_dir>/blobs
  int64_t max_upload_bytes = int64_t{4} << 30;
  JobLimits job_limits;
  // Threads for the handlers that wait on the database; 0: one per core. More than the
  // cores only adds queueing in the scheduler (measured: bench/README.md, submit load).
  int handler_threads = 0;
};

// What the server calls out to; the store provides them. Not owned; must outlive the
// server. Only `verifier` is required.
struct ServerDeps {
  const TokenVerifier* verifier = nullptr;
  JobRepository* jobs = nullptr;
  DeviceRegistry* devices = nullptr;
  AdminRepository* admin = nullptr;
  BlobOwners* blob_owners = nullptr;  // null: blobs are not scoped to teams
};

class QbServer {
 public:
  // Validates the options (INVALID_ARGUMENT naming the flag), then starts serving.
  static absl::StatusOr<std::unique_ptr<QbServer>> Start(const ServerOptions& options, const ServerDeps& deps);
  ~QbServer();

  int port() const { return port_; }
  void Wait() { server_->Wait(); }
  void Shutdown();

 private:
  QbServer() = default;
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<WatchHub> hub_;       // outlives server_ (declared before it)
  std::unique_ptr<BlockingPool> pool_;  // likewise
  std::unique_ptr<BlobsService> blobs_service_;
  std::unique_ptr<JobsService> jobs_service_;
  std::unique_ptr<DevicesService> devices_service_;
  std::unique_ptr<AdminService> admin_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace qbench::server
