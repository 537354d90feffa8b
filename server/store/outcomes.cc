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
        "VALUES ($1, 'progress', $2, $3, $4, $8, $5, $6, $7)",
        lease.job_id, p.stage, lease.attempt, lease.worker_id, p.config, p.done, p.total, p.message);
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
  // The NULL-or-value parameters of the paired deltas, test then validation.
  auto part = [](const std::optional<PairedDelta>& d, double PairedDelta::*field) -> std::optional<double> {
    if (!d) return std::nullopt;
    return (*d).*field;
  };
  auto count = [](const std::optional<PairedDelta>& d, int64_t PairedDelta::*field) -> std::optional<int64_t> {
    if (!d) return std::nullopt;
    return (*d).*field;
  };
  const std::optional<PairedDelta> none;
  const std::optional<PairedDelta>& vd = o.validation ? o.validation->vs_baseline : none;
  auto text = [](const std::string& s) -> std::optional<std::string> {
    if (s.empty()) return std::nullopt;
    return s;
  };
  return InTransaction(db, "record config outcome", [&](pqxx::work& tx) -> absl::Status {
    auto state = LockLeased(tx, lease);
    if (!state.ok()) return state.status();
    auto id = ConfigId(tx, lease.job_id, o.config);
    if (!id.ok()) return id.status();
    tx.exec_params(
        "UPDATE job_configs SET resolved = $2::jsonb, error = NULLIF($3, ''), notes = $4::text[], samples = $5, "
        "  params_sha256 = NULLIF($6, ''), calibration_sha256 = NULLIF($7, ''), attempt = $8, device = $9, "
        "  top1 = $10, top5 = $11, top1_hits = $12, top5_hits = $13, tied_top1 = $14, agreement = $15, "
        "  sqnr_db = $16, model_bytes = $17, top1_delta = $18, top1_delta_ci_low = $19, top1_delta_ci_high = $20, "
        "  top1_delta_p = $21, fp32_right_config_wrong = $22, fp32_wrong_config_right = $23, "
        "  delta_interval_method = $24, delta_test_method = $25, validation_samples = $26, validation_top1 = $27, "
        "  validation_top1_delta = $28, validation_top1_delta_ci_low = $29, validation_top1_delta_ci_high = $30 "
        "WHERE id = $1",
        *id, o.resolved_json.empty() ? std::string("{}") : o.resolved_json, o.error, PgTextArray(o.notes), o.samples,
        o.params_sha256, o.calibration_sha256, lease.attempt, text(o.device), o.top1, o.top5, o.top1_hits,
        o.top5_hits, o.tied_top1, o.agreement, o.sqnr_db, o.model_bytes, part(o.vs_baseline, &PairedDelta::delta),
        part(o.vs_baseline, &PairedDelta::ci_low), part(o.vs_baseline, &PairedDelta::ci_high),
        part(o.vs_baseline, &PairedDelta::p_value), count(o.vs_baseline, &PairedDelta::fp32_right_config_wrong),
        count(o.vs_baseline, &PairedDelta::fp32_wrong_config_right), text(o.delta_interval_method),
        text(o.delta_test_method),
        o.validation ? std::optional<int64_t>(o.validation->samples) : std::nullopt,
        o.validation ? std::optional<double>(o.validation->top1) : std::nullopt, part(vd, &PairedDelta::delta),
        part(vd, &PairedDelta::ci_low), part(vd, &PairedDelta::ci_high));
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
             "  COALESCE(calibration_sha256, ''), id, COALESCE(device, ''), top1, top5, top1_hits, top5_hits, "
             "  tied_top1, agreement, sqnr_db, model_bytes, top1_delta, top1_delta_ci_low, top1_delta_ci_high, "
             "  top1_delta_p, fp32_right_config_wrong, fp32_wrong_config_right, COALESCE(delta_interval_method, ''), "
             "  COALESCE(delta_test_method, ''), validation_samples, validation_top1, validation_top1_delta, "
             "  validation_top1_delta_ci_low, validation_top1_delta_ci_high "
             "FROM job_configs WHERE job_id = $1 AND resolved IS NOT NULL ORDER BY ordinal",
             job_id)) {
      ConfigOutcome o;
      o.config = row[0].as<std::string>();
      o.resolved_json = row[1].as<std::string>();
      o.error = row[2].as<std::string>();
      o.samples = row[3].as<int64_t>();
      o.params_sha256 = row[4].as<std::string>();
      o.calibration_sha256 = row[5].as<std::string>();
      o.device = row[7].as<std::string>();
      o.top1 = OptField<double>(row[8]);
      o.top5 = OptField<double>(row[9]);
      o.top1_hits = OptField<int64_t>(row[10]);
      o.top5_hits = OptField<int64_t>(row[11]);
      o.tied_top1 = OptField<int64_t>(row[12]);
      o.agreement = OptField<double>(row[13]);
      o.sqnr_db = OptField<double>(row[14]);
      o.model_bytes = OptField<int64_t>(row[15]);
      // A delta is stored whole or not at all (UpsertConfigOutcome); its value decides.
      if (!row[16].is_null()) {
        PairedDelta d;
        d.delta = row[16].as<double>();
        d.ci_low = OptField<double>(row[17]).value_or(0);
        d.ci_high = OptField<double>(row[18]).value_or(0);
        d.p_value = OptField<double>(row[19]).value_or(1);
        d.fp32_right_config_wrong = OptField<int64_t>(row[20]).value_or(0);
        d.fp32_wrong_config_right = OptField<int64_t>(row[21]).value_or(0);
        o.vs_baseline = d;
      }
      o.delta_interval_method = row[22].as<std::string>();
      o.delta_test_method = row[23].as<std::string>();
      if (!row[24].is_null()) {
        SplitAccuracy v;
        v.samples = row[24].as<int64_t>();
        v.top1 = OptField<double>(row[25]).value_or(0);
        if (!row[26].is_null()) {
          PairedDelta d;
          d.delta = row[26].as<double>();
          d.ci_low = OptField<double>(row[27]).value_or(0);
          d.ci_high = OptField<double>(row[28]).value_or(0);
          v.vs_baseline = d;
        }
        o.validation = v;
      }
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

absl::Status SetJobEvaluation(Db& db, const Lease& lease, const std::string& evaluation_json) {
  return InTransaction(db, "set job evaluation", [&](pqxx::work& tx) -> absl::Status {
    auto state = LockLeased(tx, lease);
    if (!state.ok()) return state.status();
    auto r = tx.exec_params(
        "UPDATE jobs SET evaluation = $2::jsonb WHERE id = $1 AND jsonb_typeof($2::jsonb) = 'object' RETURNING id",
        lease.job_id, evaluation_json);
    if (r.empty()) return absl::InvalidArgumentError("job evaluation: must be a JSON object");
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<std::string>> GetJobEvaluation(Db& db, int64_t job_id) {
  return InTransaction(db, "get job evaluation", [&](pqxx::work& tx) -> absl::StatusOr<std::optional<std::string>> {
    auto r = tx.exec_params("SELECT evaluation::text FROM jobs WHERE id = $1", job_id);
    if (r.empty()) return absl::NotFoundError(absl::StrCat("job ", job_id, " not found"));
    return OptField<std::string>(r[0][0]);
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
