#include "server/store/results.h"

#include <charconv>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "server/store/db_internal.h"

namespace qbench::store {
namespace {

// A double precision[] literal ('{1.5,0.1}') for binding as $n::double precision[]; the
// value is a bound parameter, never SQL text. std::to_chars writes the shortest text
// that reads back as the same double, so samples round-trip exactly. Non-finite values
// get PostgreSQL's spellings (to_chars would write "-nan", which float8in rejects).
// std::nullopt (NULL) for no samples.
std::optional<std::string> PgDoubleArray(const std::vector<double>& values) {
  if (values.empty()) return std::nullopt;
  std::string out = "{";
  char buf[64];
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    const double v = values[i];
    if (std::isnan(v)) {
      out += "NaN";
    } else if (std::isinf(v)) {
      out += v > 0 ? "Infinity" : "-Infinity";
    } else {
      const auto r = std::to_chars(buf, buf + sizeof buf, v);
      out.append(buf, r.ptr);
    }
  }
  return out + "}";
}

}  // namespace

absl::Status UpsertResult(Db& db, const Lease& lease, const ResultRow& row) {
  if (row.device.empty()) return absl::InvalidArgumentError("result device must not be empty");
  if (row.batch_size < 1) return absl::InvalidArgumentError("result batch_size must be >= 1");
  if (row.config.empty()) return absl::InvalidArgumentError("result config must not be empty");
  return InTransaction(db, "upsert result", [&](pqxx::work& tx) -> absl::Status {
    auto state = LockLeased(tx, lease);
    if (!state.ok()) return state.status();
    auto r = tx.exec_params(
        "INSERT INTO results(job_id, config_id, device, batch_size, top1, top5, agreement, sqnr_db, model_bytes, "
        "  p50_ms, p99_ms, throughput, energy_j, energy_source, attempt, iterations, energy_meter, "
        "  p90_ms, p999_ms, min_ms, max_ms, mean_ms, median_ci_low_ms, median_ci_high_ms, latency_sessions, "
        "  latency_method, latency_samples_ms) "
        "SELECT $1, c.id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
        "  $18, $19, $20, $21, $22, $23, $24, $25, $26, $27::double precision[] "
        "FROM job_configs c WHERE c.job_id = $1 AND c.name = $2 "
        "ON CONFLICT (job_id, config_id, device, batch_size) DO UPDATE SET "
        "  top1 = EXCLUDED.top1, top5 = EXCLUDED.top5, agreement = EXCLUDED.agreement, sqnr_db = EXCLUDED.sqnr_db, "
        "  model_bytes = EXCLUDED.model_bytes, p50_ms = EXCLUDED.p50_ms, p99_ms = EXCLUDED.p99_ms, "
        "  throughput = EXCLUDED.throughput, energy_j = EXCLUDED.energy_j, energy_source = EXCLUDED.energy_source, "
        "  attempt = EXCLUDED.attempt, iterations = EXCLUDED.iterations, energy_meter = EXCLUDED.energy_meter, "
        "  p90_ms = EXCLUDED.p90_ms, p999_ms = EXCLUDED.p999_ms, min_ms = EXCLUDED.min_ms, max_ms = EXCLUDED.max_ms, "
        "  mean_ms = EXCLUDED.mean_ms, median_ci_low_ms = EXCLUDED.median_ci_low_ms, "
        "  median_ci_high_ms = EXCLUDED.median_ci_high_ms, latency_sessions = EXCLUDED.latency_sessions, "
        "  latency_method = EXCLUDED.latency_method, latency_samples_ms = EXCLUDED.latency_samples_ms, "
        "  updated_at = now() "
        "RETURNING id",
        lease.job_id, row.config, row.device, row.batch_size, row.top1, row.top5, row.agreement, row.sqnr_db,
        row.model_bytes, row.p50_ms, row.p99_ms, row.throughput, row.energy_j, row.energy_source, lease.attempt,
        row.iterations, row.energy_meter, row.p90_ms, row.p999_ms, row.min_ms, row.max_ms, row.mean_ms,
        row.median_ci_low_ms, row.median_ci_high_ms, row.latency_sessions, row.latency_method,
        PgDoubleArray(row.latency_samples_ms));
    if (r.empty()) {
      return absl::NotFoundError(absl::StrCat("job ", lease.job_id, ": configuration \"", row.config, "\" not found"));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<ResultRow>> ListResults(Db& db, int64_t job_id) {
  return InTransaction(db, "list results", [&](pqxx::work& tx) -> absl::StatusOr<std::vector<ResultRow>> {
    auto r = tx.exec_params(
        "SELECT c.name, r.device, r.batch_size, r.top1, r.top5, r.agreement, r.sqnr_db, r.model_bytes, r.p50_ms, "
        "  r.p99_ms, r.throughput, r.energy_j, r.energy_source, r.iterations, r.energy_meter, "
        "  r.p90_ms, r.p999_ms, r.min_ms, r.max_ms, r.mean_ms, r.median_ci_low_ms, r.median_ci_high_ms, "
        "  r.latency_sessions, r.latency_method, r.id "
        "FROM results r JOIN job_configs c ON c.id = r.config_id WHERE r.job_id = $1 "
        "ORDER BY c.ordinal, r.device, r.batch_size",
        job_id);
    std::vector<ResultRow> rows;
    std::map<int64_t, size_t> index;  // results.id -> position in rows
    for (const auto& f : r) {
      ResultRow row;
      row.config = f[0].as<std::string>();
      row.device = f[1].as<std::string>();
      row.batch_size = f[2].as<int>();
      row.top1 = OptField<double>(f[3]);
      row.top5 = OptField<double>(f[4]);
      row.agreement = OptField<double>(f[5]);
      row.sqnr_db = OptField<double>(f[6]);
      row.model_bytes = OptField<int64_t>(f[7]);
      row.p50_ms = OptField<double>(f[8]);
      row.p99_ms = OptField<double>(f[9]);
      row.throughput = OptField<double>(f[10]);
      row.energy_j = OptField<double>(f[11]);
      row.energy_source = OptField<std::string>(f[12]);
      row.iterations = OptField<int64_t>(f[13]);
      row.energy_meter = OptField<std::string>(f[14]);
      row.p90_ms = OptField<double>(f[15]);
      row.p999_ms = OptField<double>(f[16]);
      row.min_ms = OptField<double>(f[17]);
      row.max_ms = OptField<double>(f[18]);
      row.mean_ms = OptField<double>(f[19]);
      row.median_ci_low_ms = OptField<double>(f[20]);
      row.median_ci_high_ms = OptField<double>(f[21]);
      row.latency_sessions = OptField<int>(f[22]);
      row.latency_method = OptField<std::string>(f[23]);
      index[f[24].as<int64_t>()] = rows.size();
      rows.push_back(std::move(row));
    }
    // Array elements one per row (unnest), so no array-literal parsing here; float8 text
    // output is the shortest exact form (extra_float_digits >= 1, PostgreSQL 12+).
    for (const auto& s : tx.exec_params(
             "SELECT r.id, s.ms FROM results r, unnest(r.latency_samples_ms) WITH ORDINALITY AS s(ms, n) "
             "WHERE r.job_id = $1 ORDER BY r.id, s.n",
             job_id)) {
      auto it = index.find(s[0].as<int64_t>());
      if (it != index.end()) rows[it->second].latency_samples_ms.push_back(s[1].as<double>());
    }
    return rows;
  });
}

absl::Status UpsertLayerResults(Db& db, const Lease& lease, const std::string& config,
                                const std::vector<LayerResult>& layers) {
  if (config.empty()) return absl::InvalidArgumentError("layer results: config must not be empty");
  for (const LayerResult& l : layers) {
    if (l.layer.empty()) return absl::InvalidArgumentError("layer results: layer name must not be empty");
  }
  return InTransaction(db, "upsert layer results", [&](pqxx::work& tx) -> absl::Status {
    auto state = LockLeased(tx, lease);
    if (!state.ok()) return state.status();
    auto c = tx.exec_params("SELECT id FROM job_configs WHERE job_id = $1 AND name = $2", lease.job_id, config);
    if (c.empty()) return absl::NotFoundError(absl::StrCat("job ", lease.job_id, ": configuration \"", config, "\" not found"));
    const int64_t config_id = c[0][0].as<int64_t>();
    for (size_t i = 0; i < layers.size(); ++i) {
      const LayerResult& l = layers[i];
      tx.exec_params(
          "INSERT INTO layer_results(job_id, config_id, layer, op_type, sqnr_db, ordinal, quantized, weight_bits, "
          "  activation_bits, isolated_sqnr_db, isolated_output_sqnr_db, note, rounding, rounding_seconds, "
          "  rounding_sqnr_db, nearest_sqnr_db) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) "
          "ON CONFLICT (job_id, config_id, layer) DO UPDATE SET op_type = EXCLUDED.op_type, sqnr_db = EXCLUDED.sqnr_db, "
          "  ordinal = EXCLUDED.ordinal, quantized = EXCLUDED.quantized, weight_bits = EXCLUDED.weight_bits, "
          "  activation_bits = EXCLUDED.activation_bits, isolated_sqnr_db = EXCLUDED.isolated_sqnr_db, "
          "  isolated_output_sqnr_db = EXCLUDED.isolated_output_sqnr_db, note = EXCLUDED.note, "
          "  rounding = EXCLUDED.rounding, rounding_seconds = EXCLUDED.rounding_seconds, "
          "  rounding_sqnr_db = EXCLUDED.rounding_sqnr_db, nearest_sqnr_db = EXCLUDED.nearest_sqnr_db",
          lease.job_id, config_id, l.layer, l.op_type, l.sqnr_db, static_cast<int>(i), l.quantized, l.weight_bits,
          l.activation_bits, l.isolated_sqnr_db, l.isolated_output_sqnr_db, l.note, l.rounding, l.rounding_seconds,
          l.rounding_sqnr_db, l.nearest_sqnr_db);
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<LayerResult>> ListLayerResults(Db& db, int64_t job_id, const std::string& config) {
  return InTransaction(db, "list layer results", [&](pqxx::work& tx) -> absl::StatusOr<std::vector<LayerResult>> {
    std::vector<LayerResult> layers;
    for (const auto& row : tx.exec_params(
             "SELECT l.layer, l.op_type, l.sqnr_db, l.quantized, l.weight_bits, l.activation_bits, l.isolated_sqnr_db, "
             "  l.isolated_output_sqnr_db, l.note, l.rounding, l.rounding_seconds, l.rounding_sqnr_db, l.nearest_sqnr_db "
             "FROM layer_results l JOIN job_configs c ON c.id = l.config_id "
             "WHERE l.job_id = $1 AND c.name = $2 ORDER BY l.ordinal, l.layer",
             job_id, config)) {
      LayerResult l;
      l.layer = row[0].as<std::string>();
      l.op_type = row[1].as<std::string>();
      l.sqnr_db = OptField<double>(row[2]);
      l.quantized = row[3].as<std::string>() == "t";
      l.weight_bits = OptField<int>(row[4]);
      l.activation_bits = OptField<int>(row[5]);
      l.isolated_sqnr_db = OptField<double>(row[6]);
      l.isolated_output_sqnr_db = OptField<double>(row[7]);
      l.note = row[8].as<std::string>();
      l.rounding = row[9].as<std::string>();
      l.rounding_seconds = OptField<double>(row[10]);
      l.rounding_sqnr_db = OptField<double>(row[11]);
      l.nearest_sqnr_db = OptField<double>(row[12]);
      layers.push_back(std::move(l));
    }
    return layers;
  });
}

}  // namespace qbench::store
