// How the CLI and the worker daemon reach a qbench-server: one channel per Connection,
// the bearer token on every call, and gRPC statuses turned into absl ones at this edge.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace qbench::client {

struct Connection {      // how to reach and authenticate to a qbench-server
  std::string server;    // "host:port"
  bool insecure = false; // plaintext (local use); otherwise TLS
  std::string ca_file;   // PEM roots for TLS; empty: system roots
  std::string token;     // bearer secret
};

// INVALID_ARGUMENT when `server` is empty, NOT_FOUND naming the file when the CA file
// cannot be read. MakeChannel cannot report errors, so callers check first.
absl::Status CheckConnection(const Connection& c);

// TLS (or plaintext when `insecure`) credentials. A connection that fails
// CheckConnection gets a channel whose every call fails with INVALID_ARGUMENT rather
// than one that silently trusts different roots.
std::shared_ptr<grpc::Channel> MakeChannel(const Connection& c);

// Adds "authorization: Bearer <token>" (nothing when the token is empty: the server then
// answers UNAUTHENTICATED) and the deadline (none when infinite: long-lived streams).
void Authorize(grpc::ClientContext* ctx, const Connection& c, absl::Duration deadline = absl::Seconds(30));

// grpc -> absl status, same code and message (both use the canonical numbering 0..16).
absl::Status FromGrpc(const grpc::Status& s);

// Codes after which a call may be retried as is (resuming where it stopped).
bool IsTransient(const absl::Status& s);

}  // namespace qbench::client
