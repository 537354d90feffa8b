#include "server/store/teams.h"

#include "absl/strings/str_cat.h"
#include "server/store/crypto.h"
#include "server/store/db_internal.h"

namespace qbench::store {
namespace {

constexpr size_t kMaxTokenBytes = 512;  // longer "tokens" are not ours: refuse before hashing

}  // namespace

absl::StatusOr<int64_t> CreateTeam(Db& db, const std::string& name, const std::string& display_name) {
  if (name.empty()) return absl::InvalidArgumentError("team name must not be empty");
  return InTransaction(db, "create team", [&](pqxx::work& tx) -> absl::StatusOr<int64_t> {
    auto r = tx.exec_params(
        "INSERT INTO teams(name, display_name) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING id", name,
        display_name);
    if (r.empty()) return absl::AlreadyExistsError(absl::StrCat("team \"", name, "\" already exists"));
    return r[0][0].as<int64_t>();
  });
}

absl::StatusOr<int64_t> FindTeam(Db& db, const std::string& name) {
  return InAutocommit(db, "find team", [&](pqxx::nontransaction& tx) -> absl::StatusOr<int64_t> {
    auto r = tx.exec_params("SELECT id FROM teams WHERE name = $1", name);
    if (r.empty()) return absl::NotFoundError(absl::StrCat("team \"", name, "\" not found"));
    return r[0][0].as<int64_t>();
  });
}

absl::StatusOr<NewToken> CreateToken(Db& db, int64_t team_id, const std::string& name, TokenRole role) {
  if (name.empty()) return absl::InvalidArgumentError("token name must not be empty");
  NewToken token;
  token.plaintext = absl::StrCat(kTokenPrefix, HexEncode(RandomBytes(32)));
  const std::string digest = Sha256(token.plaintext);
  return InTransaction(db, "create token", [&](pqxx::work& tx) -> absl::StatusOr<NewToken> {
    auto r = tx.exec_params(
        "INSERT INTO tokens(team_id, name, sha256, admin, worker) SELECT id, $2, $3, $4, $5 FROM teams WHERE id = $1 "
        "RETURNING id",
        team_id, name, Bytes(digest), role == TokenRole::kAdmin, role == TokenRole::kWorker);
    if (r.empty()) return absl::NotFoundError(absl::StrCat("team ", team_id, " not found"));
    token.id = r[0][0].as<int64_t>();
    return token;
  });
}

absl::StatusOr<int64_t> CreateTokenForDigest(Db& db, const std::string& team_name, const std::string& name,
                                             TokenRole role, const std::string& sha256,
                                             std::optional<int64_t> expires_unix_micros) {
  if (name.empty()) return absl::InvalidArgumentError("token name must not be empty");
  if (sha256.size() != 32) return absl::InvalidArgumentError("token digest must be 32 bytes");
  return InTransaction(db, "create token", [&](pqxx::work& tx) -> absl::StatusOr<int64_t> {
    auto r = tx.exec_params(
        "INSERT INTO tokens(team_id, name, sha256, admin, worker, expires_at) "
        "SELECT id, $2, $3, $4, $5, to_timestamp($6::bigint / 1e6) FROM teams WHERE name = $1 RETURNING id",
        team_name, name, Bytes(sha256), role == TokenRole::kAdmin, role == TokenRole::kWorker, expires_unix_micros);
    if (r.empty()) return absl::NotFoundError(absl::StrCat("team \"", team_name, "\" not found"));
    return r[0][0].as<int64_t>();
  });
}

absl::StatusOr<TokenOwner> VerifyTokenOwner(Db& db, const std::string& plaintext) {
  if (plaintext.empty() || plaintext.size() > kMaxTokenBytes) return absl::UnauthenticatedError("malformed API token");
  const std::string digest = Sha256(plaintext);
  return InAutocommit(db, "verify token", [&](pqxx::nontransaction& tx) -> absl::StatusOr<TokenOwner> {
    auto r = ExecPrepared(
        db, tx, "verify_token",
        "SELECT k.id, t.id, t.name, k.admin, k.worker FROM tokens k JOIN teams t ON t.id = k.team_id "
        "WHERE k.sha256 = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())",
        Bytes(digest));
    if (r.empty()) return absl::UnauthenticatedError("unknown, revoked or expired API token");
    return TokenOwner{r[0][0].as<int64_t>(), r[0][1].as<int64_t>(), r[0][2].as<std::string>(),
                      r[0][3].as<std::string>() == "t", r[0][4].as<std::string>() == "t"};
  });
}

absl::StatusOr<int64_t> VerifyToken(Db& db, const std::string& plaintext) {
  auto owner = VerifyTokenOwner(db, plaintext);
  if (!owner.ok()) return owner.status();
  return owner->team_id;
}

absl::Status RevokeToken(Db& db, int64_t token_id) {
  return InTransaction(db, "revoke token", [&](pqxx::work& tx) -> absl::Status {
    auto r = tx.exec_params("UPDATE tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING id",
                            token_id);
    if (r.empty()) return absl::NotFoundError(absl::StrCat("token ", token_id, " not found"));
    return absl::OkStatus();
  });
}

absl::Status RevokeTeamToken(Db& db, const std::string& team_name, int64_t token_id) {
  return InTransaction(db, "revoke token", [&](pqxx::work& tx) -> absl::Status {
    auto r = tx.exec_params(
        "UPDATE tokens k SET revoked_at = COALESCE(k.revoked_at, now()) FROM teams t "
        "WHERE k.id = $1 AND t.id = k.team_id AND t.name = $2 RETURNING k.id",
        token_id, team_name);
    if (r.empty()) return absl::NotFoundError(absl::StrCat("teams/", team_name, "/tokens/", token_id, " not found"));
    return absl::OkStatus();
  });
}

}  // namespace qbench::store
