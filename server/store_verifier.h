// Bearer tokens verified against the PostgreSQL store: the token's SHA-256 is looked up
// in the tokens table (revoked tokens fail), and the principal is the owning team. This
// replaces --tokens-file when the server runs with --db.
#pragma once

#include <memory>

#include "server/auth.h"
#include "server/store/pool.h"

namespace qbench::server {

class StoreTokenVerifier final : public TokenVerifier {
 public:
  explicit StoreTokenVerifier(store::DbPool* pool) : pool_(pool) {}
  // The team's numeric id, as text, is the principal's team; UNAVAILABLE when the
  // database cannot be reached.
  absl::StatusOr<Principal> Verify(const std::string& token) const override;

 private:
  store::DbPool* pool_;
};

}  // namespace qbench::server
