// The one mapping from absl::Status (used across module boundaries) to grpc::Status.
#pragma once

#include <string>

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace qbench::server {

// absl and gRPC share the canonical code numbering (0..16), so the code carries over.
inline grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

}  // namespace qbench::server
