#include "server/store_verifier.h"

#include "server/store/teams.h"

namespace qbench::server {

absl::StatusOr<Principal> StoreTokenVerifier::Verify(const std::string& token) const {
  absl::StatusOr<store::TokenOwner> owner = pool_->Run(&store::VerifyTokenOwner, token);
  if (!owner.ok()) {
    const absl::Status& s = owner.status();
    // The store says INVALID_ARGUMENT for a malformed token: to the caller it is simply
    // not a valid credential.
    if (absl::IsInvalidArgument(s) || absl::IsNotFound(s) || absl::IsUnauthenticated(s))
      return absl::UnauthenticatedError("the bearer token is not valid (unknown, revoked or expired)");
    return s;
  }
  return Principal{owner->team_name, owner->admin, owner->worker};
}

}  // namespace qbench::server
