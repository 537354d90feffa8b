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
  // The principal is the owning team (its name) and the token's admin flag;
  // UNAVAILABLE when the database cannot be reached.
  absl::StatusOr<Principal> Verify(const std::string& token) const override;

 private:
  store::DbPool* pool_;
};

}  // namespace qbench::server
