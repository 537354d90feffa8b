#include "server/store_verifier.h"

#include "server/store/teams.h"

namespace qbench::server {

absl::StatusOr<Principal> StoreTokenVerifier::Verify(const std::string& token) const {
  absl::StatusOr<int64_t> team = pool_->Run(&store::VerifyToken, token);
  if (!team.ok()) {
    // The store says INVALID_ARGUMENT for a malformed token: to the caller it is simply
    // not a valid credential.
    if (absl::IsInvalidArgument(team.status()) || absl::IsNotFound(team.status()))
      return absl::UnauthenticatedError("the bearer token is not valid");
    return team.status();
  }
  return Principal{std::to_string(*team), false};
}

}  // namespace qbench::server
