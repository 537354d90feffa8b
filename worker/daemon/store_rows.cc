#include "worker/daemon/store_rows.h"

#include <cmath>
#include <optional>

#include <nlohmann/json.hpp>

namespace qbench::worker {
namespace {

std::optional<double> Finite(double v) {
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace

std::vector<store::ResultRow> ResultRows(const ConfigResult& c, const WorkerIdentity& worker) {
  std::vector<store::ResultRow> rows;
  if (!c.error.empty()) return rows;
  const bool fp32 = c.config.precision == quant::Precision::kFp32;
  for (const BatchLatency& b : c.latency) {
    store::ResultRow row;
    row.config = c.config.name;
    row.device = worker.device;
    row.batch_size = static_cast<int>(b.batch_size);
    if (c.accuracy.samples > 0) {
      row.top1 = c.accuracy.top1;
      row.top5 = c.accuracy.top5;
      row.agreement = c.accuracy.agreement;
      if (!fp32) row.sqnr_db = Finite(c.accuracy.output_sqnr_db);
    }
    row.model_bytes = c.model_bytes;
    row.p50_ms = b.stats.median_ms;
    row.p99_ms = b.stats.p99_ms;
    row.throughput = b.throughput_per_s;
    row.iterations = b.stats.count;
    // The spread and the median's uncertainty, so a difference between configurations can
    // be told from noise; Finite() because an empty run leaves no meaningful figures.
    if (b.stats.count > 0) {
      row.p90_ms = Finite(b.stats.p90_ms);
      row.p999_ms = Finite(b.stats.p999_ms);
      row.min_ms = Finite(b.stats.min_ms);
      row.max_ms = Finite(b.stats.max_ms);
      row.mean_ms = Finite(b.stats.mean_ms);
      row.median_ci_low_ms = Finite(b.stats.median_ci_low_ms);
      row.median_ci_high_ms = Finite(b.stats.median_ci_high_ms);
      row.latency_sessions = b.stats.sessions;
      if (!b.stats.median_ci_method.empty()) row.latency_method = b.stats.median_ci_method;
      row.latency_samples_ms = b.stats.kept_ms;
    }
    if (b.measured_joules_per_sample) {
      row.energy_j = *b.measured_joules_per_sample;
      row.energy_source = "rapl";
      row.energy_meter = worker.rapl_meter.empty() ? std::string("rapl") : worker.rapl_meter;
    } else {
      row.energy_j = c.energy.modeled.total();
      row.energy_source = "estimated";
      row.energy_meter = kEstimatedEnergyMeter;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<store::LayerResult> LayerRows(const ConfigResult& c, bool sensitivity) {
  std::vector<store::LayerResult> rows;
  for (const LayerResult& l : c.layers) {
    store::LayerResult row;
    row.layer = l.node;
    row.op_type = l.op_type;
    row.sqnr_db = Finite(l.sqnr_db);
    row.quantized = l.quantized;
    if (l.quantized) {
      row.weight_bits = l.weight_bits;
      row.activation_bits = l.activation_bits;
      if (sensitivity) {
        row.isolated_sqnr_db = Finite(l.isolated_sqnr_db);
        row.isolated_output_sqnr_db = Finite(l.isolated_output_sqnr_db);
      }
    } else {
      row.note = l.note;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

store::ConfigOutcome Outcome(const ConfigResult& c) {
  store::ConfigOutcome o;
  o.config = c.config.name;
  o.resolved_json = quant::ConfigToJson(c.config).dump();
  o.error = c.error;
  o.notes = c.notes;
  o.samples = c.accuracy.samples;
  o.params_sha256 = c.params_sha256;
  o.calibration_sha256 = c.calibration_sha256;
  return o;
}

std::string EnvironmentJson(const JobResult& r, const WorkerIdentity& worker) {
  nlohmann::json env = ToJson(r)["environment"];
  env["worker"] = worker.info.id;
  env["host"] = worker.info.host;
  env["device"] = worker.device;
  env["energy_meters"] = worker.info.energy_meters;
  env["backend"] = r.spec.backend == Backend::kOneDnn ? "onednn" : "reference";
  return env.dump();
}

}  // namespace qbench::worker
