// Teams and their API tokens. A token's plaintext is returned once by CreateToken; the
// database keeps only its SHA-256, so VerifyToken hashes what the caller presents.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "server/store/db.h"

namespace qbench::store {

inline constexpr char kTokenPrefix[] = "qbt_";  // plaintext = prefix + 64 hex chars (32 random bytes)

// New team id. INVALID_ARGUMENT for an empty name, ALREADY_EXISTS for a taken one.
absl::StatusOr<int64_t> CreateTeam(Db& db, const std::string& name);

// Team id by name; NOT_FOUND if none.
absl::StatusOr<int64_t> FindTeam(Db& db, const std::string& name);

struct NewToken {
  int64_t id = 0;
  std::string plaintext;  // shown to the admin once, never stored
};

// INVALID_ARGUMENT for an empty name, NOT_FOUND for an unknown team.
absl::StatusOr<NewToken> CreateToken(Db& db, int64_t team_id, const std::string& name);

// The team id a token belongs to. UNAUTHENTICATED for an unknown, malformed or revoked token.
absl::StatusOr<int64_t> VerifyToken(Db& db, const std::string& plaintext);

// Revokes a token (idempotent). NOT_FOUND for an unknown id.
absl::Status RevokeToken(Db& db, int64_t token_id);

}  // namespace qbench::store
