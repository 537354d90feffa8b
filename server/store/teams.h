// Teams and their API tokens. A token's plaintext is returned once by CreateToken; the
// database keeps only its SHA-256, so VerifyToken hashes what the caller presents.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "server/store/db.h"

namespace qbench::store {

inline constexpr char kTokenPrefix[] = "qbt_";  // plaintext = prefix + 64 hex chars (32 random bytes)

// New team id. INVALID_ARGUMENT for an empty name, ALREADY_EXISTS for a taken one.
absl::StatusOr<int64_t> CreateTeam(Db& db, const std::string& name, const std::string& display_name = "");

// Team id by name; NOT_FOUND if none.
absl::StatusOr<int64_t> FindTeam(Db& db, const std::string& name);

struct NewToken {
  int64_t id = 0;
  std::string plaintext;  // shown to the admin once, never stored
};

// What a token may do besides its team's own calls: administer (the Admin service, every
// team's blobs) or run jobs (download the blobs of jobs some worker holds).
enum class TokenRole { kTeam, kAdmin, kWorker };

// INVALID_ARGUMENT for an empty name, NOT_FOUND for an unknown team.
absl::StatusOr<NewToken> CreateToken(Db& db, int64_t team_id, const std::string& name,
                                     TokenRole role = TokenRole::kTeam);

// Records a token whose secret the caller generated and hashed (`sha256`: 32 raw bytes).
// `expires_unix_micros`: when it stops being accepted (microseconds since the Unix
// epoch); none: never. NOT_FOUND for an unknown team name.
absl::StatusOr<int64_t> CreateTokenForDigest(Db& db, const std::string& team_name, const std::string& name,
                                             TokenRole role, const std::string& sha256,
                                             std::optional<int64_t> expires_unix_micros);

// Who a token belongs to.
struct TokenOwner {
  int64_t token_id = 0;
  int64_t team_id = 0;
  std::string team_name;
  bool admin = false;
  bool worker = false;
};

// UNAUTHENTICATED for an unknown, malformed, revoked or expired token.
absl::StatusOr<TokenOwner> VerifyTokenOwner(Db& db, const std::string& plaintext);
// The team id alone (as VerifyTokenOwner).
absl::StatusOr<int64_t> VerifyToken(Db& db, const std::string& plaintext);

// Revokes a token (idempotent). NOT_FOUND for an unknown id.
absl::Status RevokeToken(Db& db, int64_t token_id);
// The same, only when the token belongs to the team named `team_name` (NOT_FOUND otherwise).
absl::Status RevokeTeamToken(Db& db, const std::string& team_name, int64_t token_id);

}  // namespace qbench::store
