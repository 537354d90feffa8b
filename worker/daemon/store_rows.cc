#include "worker/daemon/store_rows.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace qbench::worker {
namespace {

std::optional<double> Finite(double v) {
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

// The latency part of a row: p50/p99, throughput, the timed queries, the spread and the
// median's interval (Finite(): an empty run leaves no meaningful figures).
store::ResultRow LatencyRow(const std::string& config, const std::string& device, const BatchLatency& b) {
  store::ResultRow row;
  row.config = config;
  row.device = device;
  row.batch_size = static_cast<int>(b.batch_size);
  row.p50_ms = b.stats.median_ms;
  row.p99_ms = b.stats.p99_ms;
  row.throughput = b.throughput_per_s;
  row.iterations = b.stats.count;
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
  return row;
}

}  // namespace

std::vector<store::ResultRow> ResultRows(const ConfigResult& c, const WorkerIdentity& worker) {
  std::vector<store::ResultRow> rows;
  if (!c.error.empty()) return rows;
  const bool fp32 = c.config.precision == quant::Precision::kFp32;
  for (const BatchLatency& b : c.latency) {
    store::ResultRow row = LatencyRow(c.config.name, worker.device, b);
    // Accuracy, SQNR and size are the configuration's: Outcome() stores them on the
    // configuration, which every read and view takes first. This copy on each row is
    // for readers of rows written before 0005 only; nothing reads it from new rows.
    // TODO(finding 10): drop once worker_daemon_test checks the outcome's figures
    // instead of the rows' (its owner's change).
    if (c.accuracy.samples > 0) {
      row.top1 = c.accuracy.top1;
      row.top5 = c.accuracy.top5;
      row.agreement = c.accuracy.agreement;
      if (!fp32) row.sqnr_db = Finite(c.accuracy.output_sqnr_db);
    }
    row.model_bytes = c.model_bytes;
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

std::vector<store::ResultRow> DeviceResultRows(const ConfigResult& c, const DeviceResult& d,
                                               const WorkerIdentity& worker) {
  std::vector<store::ResultRow> rows;
  if (!c.error.empty() || !d.error.empty()) return rows;
  const std::string name = AttachedDeviceName(worker, d.id);
  int64_t largest = 0;
  for (const BatchLatency& b : d.latency) largest = std::max(largest, b.batch_size);
  for (const BatchLatency& b : d.latency) {
    store::ResultRow row = LatencyRow(c.config.name, name, b);
    row.model_bytes = c.model_bytes;
    // The device's own meter, over the largest batch's timed runs; no model otherwise
    // (the CPU energy model says nothing of another chip).
    if (d.joules_per_sample && b.batch_size == largest) {
      row.energy_j = *d.joules_per_sample;
      row.energy_source = "external";
      row.energy_meter = d.energy_meter.empty() ? std::string("device") : d.energy_meter;
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
      row.rounding = l.rounding;
      if (l.rounding != "nearest") {
        row.rounding_seconds = l.rounding_seconds;
        row.rounding_sqnr_db = Finite(l.rounding_sqnr_db);
        row.nearest_sqnr_db = Finite(l.nearest_sqnr_db);
      }
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

namespace {

store::PairedDelta Paired(const PairedComparison& p) {
  store::PairedDelta d;
  d.delta = p.delta;
  d.ci_low = p.ci_low;
  d.ci_high = p.ci_high;
  d.p_value = p.p_value;
  d.fp32_right_config_wrong = p.base_only;
  d.fp32_wrong_config_right = p.other_only;
  return d;
}

}  // namespace

store::ConfigOutcome Outcome(const ConfigResult& c, const std::string& device) {
  store::ConfigOutcome o;
  o.config = c.config.name;
  o.resolved_json = quant::ConfigToJson(c.config).dump();
  o.error = c.error;
  o.notes = c.notes;
  o.samples = c.accuracy.samples;
  o.params_sha256 = c.params_sha256;
  o.calibration_sha256 = c.calibration_sha256;
  o.device = device;
  if (!c.error.empty()) return o;
  const bool fp32 = c.config.precision == quant::Precision::kFp32;
  if (c.accuracy.samples > 0) {
    const AccuracyResult& a = c.accuracy;
    o.top1 = a.top1;
    o.top5 = a.top5;
    o.top1_hits = a.top1_hits;
    o.top5_hits = a.top5_hits;
    o.tied_top1 = a.tied_top1;
    o.agreement = a.agreement;
    if (!fp32) o.sqnr_db = Finite(a.output_sqnr_db);
    if (a.vs_fp32) {
      o.vs_baseline = Paired(*a.vs_fp32);
      o.delta_interval_method = kPairedIntervalMethod;
      o.delta_test_method = kPairedTestMethod;
    }
  }
  if (c.model_bytes > 0) o.model_bytes = c.model_bytes;
  if (c.validation && c.validation->samples > 0) {
    store::SplitAccuracy v;
    v.samples = c.validation->samples;
    v.top1 = c.validation->top1;
    if (c.validation->vs_fp32) v.vs_baseline = Paired(*c.validation->vs_fp32);
    o.validation = v;
  }
  return o;
}

store::DeviceOutcome DeviceOutcomeRow(const ConfigResult& c, const DeviceResult& d, const WorkerIdentity& worker) {
  store::DeviceOutcome o;
  o.config = c.config.name;
  o.device = AttachedDeviceName(worker, d.id);
  o.device_class = d.device_class;
  o.runner = d.runner;
  o.runtime = d.runtime;
  o.runtime_version = d.version;
  o.provider = d.provider;
  o.error = d.error;
  o.notes = d.notes;
  if (d.seconds > 0) o.seconds = d.seconds;
  if (!d.error.empty() || d.accuracy.samples == 0) return o;
  const AccuracyResult& a = d.accuracy;
  o.samples = a.samples;
  o.top1 = a.top1;
  o.top5 = a.top5;
  o.top1_hits = a.top1_hits;
  o.top5_hits = a.top5_hits;
  o.tied_top1 = a.tied_top1;
  if (c.config.precision != quant::Precision::kFp32) {
    o.agreement = a.agreement;
    o.sqnr_db = Finite(a.output_sqnr_db);
  }
  if (a.vs_fp32) {
    o.vs_baseline = Paired(*a.vs_fp32);
    o.delta_interval_method = kPairedIntervalMethod;
    o.delta_test_method = kPairedTestMethod;
  }
  o.differs_from_engine = d.differs_from_engine;
  return o;
}

std::string EvaluationJson(const EvaluationSplit& s) {
  nlohmann::json j = {
      {"mode", s.mode},
      {"seed", s.seed},
      {"selection", s.selection},
      {"test_samples", s.test_indices.size()},
      {"validation_samples", s.validation_indices.size()},
      {"test_indices_sha256", s.test_indices_sha256},
      {"validation_indices_sha256", s.validation_indices_sha256},
      {"test_indices", s.test_indices},
      {"validation_indices", s.validation_indices},
      {"calibration_is_eval_data", s.calibration_is_eval_data},
      {"calibration_test_overlap", s.calibration_test_overlap},
  };
  // No validation_dataset: it is a path in the worker's cache, which clients never see.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
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

std::string SearchHardware(const WorkerIdentity& worker, int threads) {
  return absl::StrCat(worker.info.cpu_model, "; ", worker.info.isa, "; ", threads, threads == 1 ? " thread" : " threads");
}

store::SearchCandidateRow CandidateRow(const search::Candidate& c, const std::vector<search::Choice>& choices,
                                       const std::string& hardware) {
  store::SearchCandidateRow r;
  r.key = c.key;
  r.ordinal = static_cast<int>(c.id);
  r.hardware = hardware;
  r.strategy = c.strategy;
  for (int i : c.assignment)
    r.assignment.push_back(i >= 0 && static_cast<size_t>(i) < choices.size() ? choices[i].name : "?");
  r.samples = c.samples;
  r.top1 = c.top1;
  r.drop_points = c.drop_points;
  r.ci_low_points = c.ci_low;
  r.ci_high_points = c.ci_high;
  r.timed = c.timed;
  if (c.timed) {
    r.latency_ms = c.latency_ms;
    r.latency_ci_low_ms = c.latency_ci_low;
    r.latency_ci_high_ms = c.latency_ci_high;
    r.objective = c.objective;
  }
  r.batch_size = static_cast<int>(std::max<int64_t>(1, c.batch));
  r.model_bytes = c.bytes;
  r.energy_j = c.energy_joules;
  r.within_budget = c.within_budget;
  r.on_front = c.on_front;
  r.seconds = c.seconds;
  r.candidate_json = search::CandidateToJson(c).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

std::string SearchSummaryJson(const SearchResult& r, int64_t stored, int64_t stored_elsewhere) {
  nlohmann::json j = SearchJson(r);
  j.erase("candidates");
  auto key = [&](const std::optional<int64_t>& id) -> nlohmann::json {
    if (!id || *id < 0 || static_cast<size_t>(*id) >= r.candidates.size()) return nullptr;
    return r.candidates[*id].key;
  };
  for (size_t i = 0; i < r.strategies.size() && i < j["strategies"].size(); ++i)
    j["strategies"][i]["chosen_key"] =
        r.strategies[i].chosen ? nlohmann::json(r.strategies[i].chosen->key) : nlohmann::json(nullptr);
  j["best_key"] = key(r.best_id);
  j["fallback_key"] = key(r.fallback_id);
  j["front"] = nlohmann::json::array();
  for (const search::Candidate& c : r.candidates)
    if (c.on_front) j["front"].push_back(c.key);
  j["stored_candidates"] = {{"found", stored}, {"reused", r.reused}, {"other_hardware", stored_elsewhere}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace qbench::worker
