#include "server/store/device_outcomes.h"

#include "absl/strings/str_cat.h"
#include "server/store/db_internal.h"

namespace qbench::store {
namespace {

std::optional<std::string> NullIfEmpty(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

}  // namespace

absl::Status UpsertDeviceOutcome(Db& db, const Lease& lease, const DeviceOutcome& o) {
  if (o.config.empty()) return absl::InvalidArgumentError("device outcome: config must not be empty");
  if (o.device.empty()) return absl::InvalidArgumentError("device outcome: device must not be empty");
  if (o.samples < 0) return absl::InvalidArgumentError("device outcome: samples must not be negative");
  // A paired delta is stored whole or not at all.
  const std::optional<PairedDelta>& d = o.vs_baseline;
  auto part = [&](double PairedDelta::*f) -> std::optional<double> {
    if (!d) return std::nullopt;
    return (*d).*f;
  };
  auto count = [&](int64_t PairedDelta::*f) -> std::optional<int64_t> {
    if (!d) return std::nullopt;
    return (*d).*f;
  };
  return InTransaction(db, "record device outcome", [&](pqxx::work& tx) -> absl::Status {
    auto state = LockLeased(tx, lease);
    if (!state.ok()) return state.status();
    auto r = tx.exec_params(
        "INSERT INTO device_outcomes(job_id, config_id, device, device_class, runner, runtime, runtime_version, "
        "  provider, error, notes, samples, top1, top5, top1_hits, top5_hits, tied_top1, agreement, sqnr_db, "
        "  top1_delta, top1_delta_ci_low, top1_delta_ci_high, top1_delta_p, fp32_right_config_wrong, "
        "  fp32_wrong_config_right, delta_interval_method, delta_test_method, differs_from_engine, seconds, attempt) "
        "SELECT $1, c.id, $3, $4, $5, $6, $7, $8, $9, $10::text[], $11, $12, $13, $14, $15, $16, $17, $18, $19, "
        "  $20, $21, $22, $23, $24, $25, $26, $27, $28, $29 "
        "FROM job_configs c WHERE c.job_id = $1 AND c.name = $2 "
        "ON CONFLICT (job_id, config_id, device) DO UPDATE SET device_class = EXCLUDED.device_class, "
        "  runner = EXCLUDED.runner, runtime = EXCLUDED.runtime, runtime_version = EXCLUDED.runtime_version, "
        "  provider = EXCLUDED.provider, error = EXCLUDED.error, notes = EXCLUDED.notes, samples = EXCLUDED.samples, "
        "  top1 = EXCLUDED.top1, top5 = EXCLUDED.top5, top1_hits = EXCLUDED.top1_hits, "
        "  top5_hits = EXCLUDED.top5_hits, tied_top1 = EXCLUDED.tied_top1, agreement = EXCLUDED.agreement, "
        "  sqnr_db = EXCLUDED.sqnr_db, top1_delta = EXCLUDED.top1_delta, "
        "  top1_delta_ci_low = EXCLUDED.top1_delta_ci_low, top1_delta_ci_high = EXCLUDED.top1_delta_ci_high, "
        "  top1_delta_p = EXCLUDED.top1_delta_p, fp32_right_config_wrong = EXCLUDED.fp32_right_config_wrong, "
        "  fp32_wrong_config_right = EXCLUDED.fp32_wrong_config_right, "
        "  delta_interval_method = EXCLUDED.delta_interval_method, delta_test_method = EXCLUDED.delta_test_method, "
        "  differs_from_engine = EXCLUDED.differs_from_engine, seconds = EXCLUDED.seconds, "
        "  attempt = EXCLUDED.attempt, updated_at = now() "
        "RETURNING config_id",
        lease.job_id, o.config, o.device, o.device_class, o.runner, o.runtime, o.runtime_version, o.provider,
        NullIfEmpty(o.error), PgTextArray(o.notes), o.samples, o.top1, o.top5, o.top1_hits, o.top5_hits,
        o.tied_top1, o.agreement, o.sqnr_db, part(&PairedDelta::delta), part(&PairedDelta::ci_low),
        part(&PairedDelta::ci_high), part(&PairedDelta::p_value), count(&PairedDelta::fp32_right_config_wrong),
        count(&PairedDelta::fp32_wrong_config_right), NullIfEmpty(o.delta_interval_method),
        NullIfEmpty(o.delta_test_method), o.differs_from_engine, o.seconds, lease.attempt);
    if (r.empty())
      return absl::NotFoundError(absl::StrCat("job ", lease.job_id, ": configuration \"", o.config, "\" not found"));
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<DeviceOutcome>> ListDeviceOutcomes(Db& db, int64_t job_id) {
  return InTransaction(db, "list device outcomes", [&](pqxx::work& tx) -> absl::StatusOr<std::vector<DeviceOutcome>> {
    std::vector<DeviceOutcome> out;
    for (const auto& row : tx.exec_params(
             "SELECT c.name, d.device, d.device_class, d.runner, d.runtime, d.runtime_version, d.provider, "
             "  COALESCE(d.error, ''), d.samples, d.top1, d.top5, d.top1_hits, d.top5_hits, d.tied_top1, "
             "  d.agreement, d.sqnr_db, d.top1_delta, d.top1_delta_ci_low, d.top1_delta_ci_high, d.top1_delta_p, "
             "  d.fp32_right_config_wrong, d.fp32_wrong_config_right, COALESCE(d.delta_interval_method, ''), "
             "  COALESCE(d.delta_test_method, ''), d.differs_from_engine, d.seconds "
             "FROM device_outcomes d JOIN job_configs c ON c.id = d.config_id "
             "WHERE d.job_id = $1 ORDER BY c.ordinal, d.device",
             job_id)) {
      DeviceOutcome o;
      o.config = row[0].as<std::string>();
      o.device = row[1].as<std::string>();
      o.device_class = row[2].as<std::string>();
      o.runner = row[3].as<std::string>();
      o.runtime = row[4].as<std::string>();
      o.runtime_version = row[5].as<std::string>();
      o.provider = row[6].as<std::string>();
      o.error = row[7].as<std::string>();
      o.samples = row[8].as<int64_t>();
      o.top1 = OptField<double>(row[9]);
      o.top5 = OptField<double>(row[10]);
      o.top1_hits = OptField<int64_t>(row[11]);
      o.top5_hits = OptField<int64_t>(row[12]);
      o.tied_top1 = OptField<int64_t>(row[13]);
      o.agreement = OptField<double>(row[14]);
      o.sqnr_db = OptField<double>(row[15]);
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
      o.differs_from_engine = OptField<int64_t>(row[24]);
      o.seconds = OptField<double>(row[25]);
      out.push_back(std::move(o));
    }
    // Notes one element per row (unnest), so no text[] parsing here.
    for (DeviceOutcome& o : out)
      for (const auto& n : tx.exec_params(
               "SELECT n FROM device_outcomes d JOIN job_configs c ON c.id = d.config_id, "
               "  unnest(d.notes) WITH ORDINALITY AS u(n, i) "
               "WHERE d.job_id = $1 AND c.name = $2 AND d.device = $3 ORDER BY i",
               job_id, o.config, o.device))
        o.notes.push_back(n[0].as<std::string>());
    return out;
  });
}

}  // namespace qbench::store
