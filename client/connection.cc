#include "client/connection.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/strings/str_cat.h"

namespace qbench::client {
namespace {

// Results with a per-layer table can exceed gRPC's default 4 MiB receive limit; blob
// chunks are at most 1 MiB, so this only matters for unary answers.
constexpr int kMaxReceiveBytes = 64 << 20;

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  *out = s.str();
  return static_cast<bool>(in) || in.eof();
}

}  // namespace

absl::Status CheckConnection(const Connection& c) {
  if (c.server.empty())
    return absl::InvalidArgumentError("no server given (use --server HOST:PORT, QBENCH_SERVER or a profile)");
  std::string pem;
  if (!c.insecure && !c.ca_file.empty() && !ReadFile(c.ca_file, &pem))
    return absl::NotFoundError(absl::StrCat("CA file \"", c.ca_file, "\": cannot read"));
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> MakeChannel(const Connection& c) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  // A long watch or download on a connection that died silently (a NAT or a host gone)
  // would otherwise wait forever: ping every 30 s while a call is open, give up after 10 s
  // without an answer (the server allows pings this often, see server/server.cc).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (c.insecure) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions options;
    // Null credentials make gRPC build a "lame" channel that fails every call with
    // INVALID_ARGUMENT: better than falling back to other roots.
    if (c.ca_file.empty() || ReadFile(c.ca_file, &options.pem_root_certs)) creds = grpc::SslCredentials(options);
  }
  return grpc::CreateCustomChannel(c.server, creds, args);
}

void Authorize(grpc::ClientContext* ctx, const Connection& c, absl::Duration deadline) {
  if (!c.token.empty()) ctx->AddMetadata("authorization", "Bearer " + c.token);  // keys must be lower case
  if (deadline != absl::InfiniteDuration()) ctx->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
}

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

bool IsTransient(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable || s.code() == absl::StatusCode::kAborted ||
         s.code() == absl::StatusCode::kDeadlineExceeded;
}

}  // namespace qbench::client
