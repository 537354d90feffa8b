#include "server/store/outcomes.h"

#include "absl/strings/str_cat.h"
#include "server/store/db_internal.h"

namespace qbench::store {
namespace {

bool IsStage(const std::string& s) {
  for (const char* k : kStages)
    if (s == k) return true;
  return false;
}

absl::StatusOr<int64_t> ConfigId(pqxx::work& tx, int64_t job_id, const std::string& config) {
  auto c = tx.exec_params("SELECT id FROM job_configs WHERE job_id = $1 AND name = $2", job_id, config);
  if (c.empty()) return absl::NotFoundError(absl::StrCat("job ", job_id, ": configuration \"", config, "\" not found"));
  return c[0][0].as<int64_t>();
}

}  // namespace

absl::Status ReportProgress(Db& db, const Lease& lease, const Progress& p) {
  if (!IsStage(p.stage)) return absl::InvalidArgumentError(absl::StrCat("progress: unknown stage \"", p.stage, "\""));
  if (p.done < 0 || p.total < 0) return absl::InvalidArgumentError("progress: counts must not be negative");
  return InTransaction(db, "report progress", [&](pqxx::work& tx) -> absl::Status {
    auto state = LockLeased(tx, lease);
    if (!state.ok()) return state.status();
    tx.exec_params("UPDATE jobs SET stage = $2, updated_at = now() WHERE id = $1", lease.job_id, p.stage);
    tx.exec_params(
        "INSERT INTO job_events(job_id, kind, stage, attempt, worker, message, config, done, total) "
        "VALUES ($1, 'progress', $2, $3, $4, '', $5, $6, $7)",
        lease.job_id, p.stage, lease.attempt, lease.worker_id, p.config, p.done, p.total);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<Progress>> CurrentProgress(Db& db, int64_t job_id) {
  return InTransaction(db, "current progress", [&](pqxx::work& tx) -> absl::StatusOr<std::vector<Progress>> {
    std::vector<Progress> out;
    for (const auto& row : tx.exec_params(
             "SELECT e.config, e.stage, e.done, e.total FROM ("
             "  SELECT DISTINCT ON (config) config, stage, done, total FROM job_events "
             "  WHERE job_id = $1 AND kind = 'progress' AND config IS NOT NULL "
             "    AND attempt = (SELECT attempts FROM jobs WHERE id = $1) ORDER BY config, id DESC) e "
             "JOIN job_configs c ON c.job_id = $1 AND c.name = e.config ORDER BY c.ordinal",
             job_id)) {
      out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<int64_t>(), row[3].as<int64_t>()});
    }
    return out;
  });
}

absl::Status UpsertConfigOutcome(Db& db, const Lease& lease, const ConfigOutcome& o) {
  if (o.config.empty()) return absl::InvalidArgumentError("config outcome: config must not be empty");
  return InTransaction(db, "record config outcome", [&](pqxx::work& tx) -> absl::Status {
    auto state = LockLeased(tx, lease);
    if (!state.ok()) return state.status();
    auto id = ConfigId(tx, lease.job_id, o.config);
    if (!id.ok()) return id.status();
    tx.exec_params(
        "UPDATE job_configs SET resolved = $2::jsonb, error = NULLIF($3, ''), notes = $4::text[], samples = $5, "
        "  params_sha256 = NULLIF($6, ''), calibration_sha256 = NULLIF($7, ''), attempt = $8 WHERE id = $1",
        *id, o.resolved_json.empty() ? std::string("{}") : o.resolved_json, o.error, PgTextArray(o.notes), o.samples,
        o.params_sha256, o.calibration_sha256, lease.attempt);
    tx.exec_params(
        "INSERT INTO job_events(job_id, kind, attempt, worker, message, config) VALUES ($1, 'result', $2, $3, $4, $5)",
        lease.job_id, lease.attempt, lease.worker_id, o.error.empty() ? std::string("result") : o.error, o.config);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<ConfigOutcome>> ListConfigOutcomes(Db& db, int64_t job_id) {
  return InTransaction(db, "list config outcomes", [&](pqxx::work& tx) -> absl::StatusOr<std::vector<ConfigOutcome>> {
    std::vector<ConfigOutcome> out;
    for (const auto& row : tx.exec_params(
             "SELECT name, resolved::text, COALESCE(error, ''), COALESCE(samples, 0), COALESCE(params_sha256, ''), "
             "  COALESCE(calibration_sha256, ''), id FROM job_configs WHERE job_id = $1 AND resolved IS NOT NULL "
             "ORDER BY ordinal",
             job_id)) {
      ConfigOutcome o;
      o.config = row[0].as<std::string>();
      o.resolved_json = row[1].as<std::string>();
      o.error = row[2].as<std::string>();
      o.samples = row[3].as<int64_t>();
      o.params_sha256 = row[4].as<std::string>();
      o.calibration_sha256 = row[5].as<std::string>();
      // One element per row (unnest), so no text[] parsing here.
      for (const auto& n : tx.exec_params(
               "SELECT n FROM job_configs, unnest(notes) WITH ORDINALITY AS u(n, i) WHERE id = $1 ORDER BY i",
               row[6].as<int64_t>()))
        o.notes.push_back(n[0].as<std::string>());
      out.push_back(std::move(o));
    }
    return out;
  });
}

absl::StatusOr<std::vector<ConfigName>> ListConfigNames(Db& db, int64_t job_id) {
  return InTransaction(db, "list configs", [&](pqxx::work& tx) -> absl::StatusOr<std::vector<ConfigName>> {
    std::vector<ConfigName> out;
    for (const auto& row :
         tx.exec_params("SELECT name, is_baseline FROM job_configs WHERE job_id = $1 ORDER BY ordinal", job_id))
      out.push_back({row[0].as<std::string>(), row[1].as<std::string>() == "t"});
    return out;
  });
}

absl::Status RecordExport(Db& db, const Lease& lease, const std::string& config, const ExportRef& blob) {
  if (blob.sha256.size() != 32 || blob.size <= 0)
    return absl::InvalidArgumentError("export: digest must be 32 bytes and size positive");
  return InTransaction(db, "record export", [&](pqxx::work& tx) -> absl::Status {
    auto state = LockLeased(tx, lease);
    if (!state.ok()) return state.status();
    auto id = ConfigId(tx, lease.job_id, config);
    if (!id.ok()) return id.status();
    tx.exec_params(
        "INSERT INTO exports(job_id, config_id, sha256, size) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (job_id, config_id) DO UPDATE SET sha256 = EXCLUDED.sha256, size = EXCLUDED.size, created_at = now()",
        lease.job_id, *id, Bytes(blob.sha256), blob.size);
    return absl::OkStatus();
  });
}

absl::StatusOr<ExportRef> FindExport(Db& db, int64_t job_id, const std::string& config) {
  return InTransaction(db, "find export", [&](pqxx::work& tx) -> absl::StatusOr<ExportRef> {
    auto r = tx.exec_params(
        "SELECT e.sha256, e.size FROM exports e JOIN job_configs c ON c.id = e.config_id "
        "WHERE e.job_id = $1 AND c.name = $2",
        job_id, config);
    if (r.empty())
      return absl::NotFoundError(absl::StrCat("jobs/", job_id, ": configuration \"", config, "\" has no export"));
    return ExportRef{pqxx::binarystring(r[0][0]).str(), r[0][1].as<int64_t>()};
  });
}

absl::Status SetJobEnvironment(Db& db, const Lease& lease, const std::string& environment_json) {
  return InTransaction(db, "set job environment", [&](pqxx::work& tx) -> absl::Status {
    auto state = LockLeased(tx, lease);
    if (!state.ok()) return state.status();
    tx.exec_params("UPDATE jobs SET environment = $2::jsonb WHERE id = $1", lease.job_id, environment_json);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<std::string>> GetJobEnvironment(Db& db, int64_t job_id) {
  return InTransaction(db, "get job environment", [&](pqxx::work& tx) -> absl::StatusOr<std::optional<std::string>> {
    auto r = tx.exec_params("SELECT environment::text FROM jobs WHERE id = $1", job_id);
    if (r.empty()) return absl::NotFoundError(absl::StrCat("job ", job_id, " not found"));
    return OptField<std::string>(r[0][0]);
  });
}

}  // namespace qbench::store
