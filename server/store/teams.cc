#include "server/store/teams.h"

#include "absl/strings/str_cat.h"
#include "server/store/crypto.h"
#include "server/store/db_internal.h"

namespace qbench::store {
namespace {

pqxx::binarystring Bytes(const std::string& s) { return pqxx::binarystring(s.data(), s.size()); }

}  // namespace

absl::StatusOr<int64_t> CreateTeam(Db& db, const std::string& name) {
  if (name.empty()) return absl::InvalidArgumentError("team name must not be empty");
  return InTransaction(db, "create team", [&](pqxx::work& tx) -> absl::StatusOr<int64_t> {
    auto r = tx.exec_params("INSERT INTO teams(name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id", name);
    if (r.empty()) return absl::AlreadyExistsError(absl::StrCat("team \"", name, "\" already exists"));
    return r[0][0].as<int64_t>();
  });
}

absl::StatusOr<int64_t> FindTeam(Db& db, const std::string& name) {
  return InTransaction(db, "find team", [&](pqxx::work& tx) -> absl::StatusOr<int64_t> {
    auto r = tx.exec_params("SELECT id FROM teams WHERE name = $1", name);
    if (r.empty()) return absl::NotFoundError(absl::StrCat("team \"", name, "\" not found"));
    return r[0][0].as<int64_t>();
  });
}

absl::StatusOr<NewToken> CreateToken(Db& db, int64_t team_id, const std::string& name) {
  if (name.empty()) return absl::InvalidArgumentError("token name must not be empty");
  NewToken token;
  token.plaintext = absl::StrCat(kTokenPrefix, HexEncode(RandomBytes(32)));
  const std::string digest = Sha256(token.plaintext);
  return InTransaction(db, "create token", [&](pqxx::work& tx) -> absl::StatusOr<NewToken> {
    auto r = tx.exec_params(
        "INSERT INTO tokens(team_id, name, sha256) SELECT id, $2, $3 FROM teams WHERE id = $1 RETURNING id", team_id,
        name, Bytes(digest));
    if (r.empty()) return absl::NotFoundError(absl::StrCat("team ", team_id, " not found"));
    token.id = r[0][0].as<int64_t>();
    return token;
  });
}

absl::StatusOr<int64_t> VerifyToken(Db& db, const std::string& plaintext) {
  if (plaintext.rfind(kTokenPrefix, 0) != 0) return absl::UnauthenticatedError("malformed API token");
  const std::string digest = Sha256(plaintext);
  return InTransaction(db, "verify token", [&](pqxx::work& tx) -> absl::StatusOr<int64_t> {
    auto r = tx.exec_params("SELECT team_id FROM tokens WHERE sha256 = $1 AND revoked_at IS NULL", Bytes(digest));
    if (r.empty()) return absl::UnauthenticatedError("unknown or revoked API token");
    return r[0][0].as<int64_t>();
  });
}

absl::Status RevokeToken(Db& db, int64_t token_id) {
  return InTransaction(db, "revoke token", [&](pqxx::work& tx) -> absl::Status {
    auto r = tx.exec_params("UPDATE tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING id",
                            token_id);
    if (r.empty()) return absl::NotFoundError(absl::StrCat("token ", token_id, " not found"));
    return absl::OkStatus();
  });
}

}  // namespace qbench::store
