// Authentication: every QBench call carries `authorization: Bearer <token>` metadata; a
// TokenVerifier (the PostgreSQL store in production) maps the token to its team.
#pragma once

#include <string>

#include <grpcpp/server_context.h>

#include "absl/status/statusor.h"

namespace qbench::server {

// Who is calling.
struct Principal {
  std::string team_id;  // "acme" (the resource name is "teams/acme")
  bool admin = false;   // may call the Admin service
  bool worker = false;  // a worker's token: may download the blobs of jobs workers hold
};

// Maps a bearer token to its team. Implementations compare against stored hashes, never
// plaintext, and must be thread-safe (called concurrently from gRPC's callback threads).
class TokenVerifier {
 public:
  virtual ~TokenVerifier() = default;
  // UNAUTHENTICATED for an unknown, revoked or expired token; UNAVAILABLE when the
  // backing store cannot be reached.
  virtual absl::StatusOr<Principal> Verify(const std::string& token) const = 0;
};

// Reads the bearer token from the call's metadata and verifies it: UNAUTHENTICATED when
// the header is missing or malformed, otherwise the verifier's answer.
absl::StatusOr<Principal> Authenticate(const grpc::ServerContextBase& ctx, const TokenVerifier& verifier);

// PERMISSION_DENIED unless the principal is an admin.
absl::Status RequireAdmin(const Principal& p);

}  // namespace qbench::server
