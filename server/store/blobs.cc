#include "server/store/blobs.h"

#include "absl/strings/str_cat.h"
#include "server/store/crypto.h"
#include "server/store/db_internal.h"

namespace qbench::store {
namespace {

// Nullable bytea parameters go in as hex text through decode($n, 'hex') (libpqxx 6.4 has
// no std::optional<binarystring> parameter).
std::optional<std::string> OptHex(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  return HexEncode(*s);
}

absl::Status ValidateAsset(const Asset& a, const char* kind) {
  if (a.name.empty()) return absl::InvalidArgumentError(absl::StrCat(kind, " name must not be empty"));
  if (!a.blob_sha256 && !a.path) {
    return absl::InvalidArgumentError(absl::StrCat(kind, " \"", a.name, "\": give an uploaded blob or a path"));
  }
  if (a.blob_sha256 && a.blob_sha256->size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat(kind, " \"", a.name, "\": sha256 must be 32 bytes"));
  }
  if (a.path && a.path->empty()) return absl::InvalidArgumentError(absl::StrCat(kind, " \"", a.name, "\": empty path"));
  return absl::OkStatus();
}

Asset ReadAsset(const pqxx::row& row) {
  Asset a;
  a.id = row[0].as<int64_t>();
  a.team_id = row[1].as<int64_t>();
  a.name = row[2].as<std::string>();
  if (!row[3].is_null()) a.blob_sha256 = pqxx::binarystring(row[3]).str();
  a.path = OptField<std::string>(row[4]);
  a.manifest_json = row[5].as<std::string>();
  return a;
}

}  // namespace

absl::StatusOr<PutBlobResult> PutBlob(Db& db, const Blob& blob) {
  if (blob.sha256.size() != 32) return absl::InvalidArgumentError("blob sha256 must be 32 bytes");
  if (blob.size < 0) return absl::InvalidArgumentError("blob size must not be negative");
  if (blob.path.empty()) return absl::InvalidArgumentError("blob path must not be empty");
  return InTransaction(db, "put blob", [&](pqxx::work& tx) -> absl::StatusOr<PutBlobResult> {
    const pqxx::binarystring digest(blob.sha256.data(), blob.sha256.size());
    auto r = tx.exec_params(
        "INSERT INTO blobs(sha256, size, path) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING RETURNING size",
        digest, blob.size, blob.path);
    PutBlobResult result;
    if (!r.empty()) {
      result.blob = blob;
      result.created = true;
      return result;
    }
    auto prev = tx.exec_params1("SELECT size, path FROM blobs WHERE sha256 = $1", digest);
    if (prev[0].as<int64_t>() != blob.size) {
      return absl::FailedPreconditionError(absl::StrCat("blob ", HexEncode(blob.sha256), " is known with size ",
                                                        prev[0].as<int64_t>(), ", not ", blob.size));
    }
    result.blob = {blob.sha256, blob.size, prev[1].as<std::string>()};
    return result;
  });
}

absl::StatusOr<std::optional<Blob>> FindBlob(Db& db, const std::string& sha256) {
  if (sha256.size() != 32) return absl::InvalidArgumentError("blob sha256 must be 32 bytes");
  return InTransaction(db, "find blob", [&](pqxx::work& tx) -> absl::StatusOr<std::optional<Blob>> {
    auto r = tx.exec_params("SELECT size, path FROM blobs WHERE sha256 = $1",
                            Bytes(sha256));
    if (r.empty()) return std::optional<Blob>();
    return std::optional<Blob>(Blob{sha256, r[0][0].as<int64_t>(), r[0][1].as<std::string>()});
  });
}

absl::StatusOr<int64_t> CreateModel(Db& db, const Asset& m) {
  if (absl::Status s = ValidateAsset(m, "model"); !s.ok()) return s;
  return InTransaction(db, "create model", [&](pqxx::work& tx) -> absl::StatusOr<int64_t> {
    return tx.exec_params1("INSERT INTO models(team_id, name, blob_sha256, path) "
                           "VALUES ($1, $2, decode($3, 'hex'), $4) RETURNING id",
                           m.team_id, m.name, OptHex(m.blob_sha256), m.path)[0]
        .as<int64_t>();
  });
}

absl::StatusOr<int64_t> CreateDataset(Db& db, const Asset& d) {
  if (absl::Status s = ValidateAsset(d, "dataset"); !s.ok()) return s;
  return InTransaction(db, "create dataset", [&](pqxx::work& tx) -> absl::StatusOr<int64_t> {
    return tx.exec_params1("INSERT INTO datasets(team_id, name, blob_sha256, path, manifest) "
                           "VALUES ($1, $2, decode($3, 'hex'), $4, $5::jsonb) RETURNING id",
                           d.team_id, d.name, OptHex(d.blob_sha256), d.path, d.manifest_json)[0]
        .as<int64_t>();
  });
}

absl::StatusOr<Asset> GetModel(Db& db, int64_t team_id, int64_t model_id) {
  return InTransaction(db, "get model", [&](pqxx::work& tx) -> absl::StatusOr<Asset> {
    auto r = tx.exec_params("SELECT id, team_id, name, blob_sha256, path, '{}' FROM models WHERE id = $1 AND team_id = $2",
                            model_id, team_id);
    if (r.empty()) return absl::NotFoundError(absl::StrCat("model ", model_id, " not found"));
    return ReadAsset(r[0]);
  });
}

absl::StatusOr<Asset> GetDataset(Db& db, int64_t team_id, int64_t dataset_id) {
  return InTransaction(db, "get dataset", [&](pqxx::work& tx) -> absl::StatusOr<Asset> {
    auto r = tx.exec_params(
        "SELECT id, team_id, name, blob_sha256, path, manifest::text FROM datasets WHERE id = $1 AND team_id = $2",
        dataset_id, team_id);
    if (r.empty()) return absl::NotFoundError(absl::StrCat("dataset ", dataset_id, " not found"));
    return ReadAsset(r[0]);
  });
}

absl::Status AddBlobOwner(Db& db, int64_t team_id, const std::string& sha256, int64_t size) {
  if (sha256.size() != 32) return absl::InvalidArgumentError("blob digest must be 32 bytes");
  return InTransaction(db, "add blob owner", [&](pqxx::work& tx) -> absl::Status {
    tx.exec_params("INSERT INTO blob_owners(team_id, sha256, size) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", team_id,
                   Bytes(sha256), size);
    return absl::OkStatus();
  });
}

absl::StatusOr<bool> TeamOwnsBlob(Db& db, int64_t team_id, const std::string& sha256) {
  return InTransaction(db, "check blob owner", [&](pqxx::work& tx) -> absl::StatusOr<bool> {
    auto r = tx.exec_params("SELECT 1 FROM blob_owners WHERE team_id = $1 AND sha256 = $2", team_id,
                            Bytes(sha256));
    return !r.empty();
  });
}

absl::StatusOr<bool> BlobOfAHeldJob(Db& db, const std::string& sha256) {
  return InTransaction(db, "check blob of a held job", [&](pqxx::work& tx) -> absl::StatusOr<bool> {
    auto r = tx.exec_params(
        "SELECT 1 FROM jobs j WHERE j.state IN ('running', 'cancelling') AND ("
        "  EXISTS (SELECT 1 FROM models m WHERE m.id = j.model_id AND m.blob_sha256 = $1) OR"
        "  EXISTS (SELECT 1 FROM datasets d WHERE d.id IN (j.dataset_id, j.calibration_dataset_id)"
        "          AND d.blob_sha256 = $1)) LIMIT 1",
        Bytes(sha256));
    return !r.empty();
  });
}

}  // namespace qbench::store
