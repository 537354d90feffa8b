#include "server/auth.h"

#include "absl/status/status.h"

namespace qbench::server {

absl::StatusOr<Principal> Authenticate(const grpc::ServerContextBase& ctx, const TokenVerifier& verifier) {
  const auto& md = ctx.client_metadata();
  auto it = md.find("authorization");
  if (it == md.end())
    return absl::UnauthenticatedError("missing \"authorization: Bearer <token>\" metadata");
  const std::string value(it->second.data(), it->second.size());
  constexpr std::string_view kPrefix = "Bearer ";
  if (value.size() <= kPrefix.size() || value.compare(0, kPrefix.size(), kPrefix) != 0)
    return absl::UnauthenticatedError("authorization metadata must be \"Bearer <token>\"");
  auto principal = verifier.Verify(value.substr(kPrefix.size()));
  if (!principal.ok() && principal.status().code() != absl::StatusCode::kUnavailable)
    return absl::UnauthenticatedError("invalid, revoked or expired token");
  return principal;
}

absl::Status RequireAdmin(const Principal& p) {
  if (p.admin) return absl::OkStatus();
  return absl::PermissionDeniedError("team \"" + p.team_id + "\": an admin token is required");
}

}  // namespace qbench::server
