#include "server/server.h"

#include <algorithm>
#include <fstream>
#include <thread>
#include <sstream>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/str_cat.h"

namespace qbench::server {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, const std::string& flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read \"", path, "\""));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const ServerOptions& o) {
  const bool tls = !o.tls_cert.empty() || !o.tls_key.empty();
  if (tls && o.insecure) return absl::InvalidArgumentError("--insecure: cannot be combined with --tls-cert/--tls-key");
  if (o.insecure) return grpc::InsecureServerCredentials();
  if (o.tls_cert.empty() || o.tls_key.empty())
    return absl::InvalidArgumentError("--tls-cert and --tls-key are both required (or --insecure for local plaintext)");
  auto cert = ReadFile(o.tls_cert, "--tls-cert");
  if (!cert.ok()) return cert.status();
  auto key = ReadFile(o.tls_key, "--tls-key");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions so;
  so.pem_key_cert_pairs.push_back({*key, *cert});
  return grpc::SslServerCredentials(so);
}

}  // namespace

absl::StatusOr<std::unique_ptr<QbServer>> QbServer::Start(const ServerOptions& options, const ServerDeps& deps) {
  if (deps.verifier == nullptr) return absl::InvalidArgumentError("server: a token verifier is required");
  if (options.listen.empty()) return absl::InvalidArgumentError("--listen: is required");
  if (options.data_dir.empty()) return absl::InvalidArgumentError("--data-dir: is required");
  if (options.max_upload_bytes <= 0) return absl::InvalidArgumentError("--max-upload-bytes: must be > 0");
  auto creds = Credentials(options);
  if (!creds.ok()) return creds.status();

  std::unique_ptr<QbServer> s(new QbServer);
  auto store = BlobStore::Open(options.data_dir, options.max_upload_bytes);
  if (!store.ok()) return store.status();
  s->blobs_ = std::move(store).value();
  s->blobs_service_ = std::make_unique<BlobsService>(s->blobs_.get(), deps.verifier, deps.blob_owners);
  if (deps.jobs != nullptr) s->hub_ = std::make_unique<WatchHub>(deps.jobs);
  const int handlers = options.handler_threads > 0
                           ? options.handler_threads
                           : std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  s->pool_ = std::make_unique<BlockingPool>(handlers);
  s->jobs_service_ = std::make_unique<JobsService>(deps.jobs, deps.verifier, options.job_limits, s->blobs_.get(),
                                                   s->hub_.get(), s->pool_.get());
  s->devices_service_ = std::make_unique<DevicesService>(deps.devices, deps.verifier, s->pool_.get());
  s->admin_service_ = std::make_unique<AdminService>(deps.admin, deps.verifier, s->pool_.get());

  // Both before the builder: health must be enabled before BuildAndStart, and calling
  // Init keeps libgrpc++_reflection linked under --as-needed.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, *creds, &s->port_);
  builder.RegisterService(s->blobs_service_.get());
  builder.RegisterService(s->jobs_service_.get());
  builder.RegisterService(s->devices_service_.get());
  builder.RegisterService(s->admin_service_.get());
  // Upload chunks are at most 1 MiB of data; leave room for the header.
  builder.SetMaxReceiveMessageSize(static_cast<int>(kMaxChunkBytes + (64 << 10)));
  // Clients ping every 30 s during long calls (client/connection.cc); accept pings down to
  // every 10 s instead of gRPC's default 5 minutes, which would answer them with GOAWAY.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || s->port_ == 0)
    return absl::UnavailableError(absl::StrCat("--listen: cannot listen on \"", options.listen, "\""));
  return s;
}

void QbServer::Shutdown() {
  if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
}

QbServer::~QbServer() { Shutdown(); }

}  // namespace qbench::server
