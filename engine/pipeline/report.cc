// Results as JSON (every figure with its method and spread) and as a readable table.
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "engine/pipeline/pipeline.h"
#include "engine/quant/sampler.h"

namespace qbench {
namespace {

using json = nlohmann::json;

// JSON has no infinity: an exact match (no noise) is written as null with a note.
json Db(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json LatencyJson(const JobResult& r, const BatchLatency& b) {
  return {{"batch_size", b.batch_size},
          {"method", "single query at a time, wall clock per batch, nearest-rank percentiles"},
          {"queries", b.stats.count},
          {"execution", DescribeSplit(b.split)},
          {"warmup_iters", r.spec.latency.warmup_iters},
          {"min_ms", b.stats.min_ms},
          {"median_ms", b.stats.median_ms},
          {"p90_ms", b.stats.p90_ms},
          {"p99_ms", b.stats.p99_ms},
          {"p999_ms", b.stats.p999_ms},
          {"median_ci95_ms", {b.stats.median_ci_low_ms, b.stats.median_ci_high_ms}},
          {"median_ci_method", b.stats.median_ci_method},
          {"sessions", b.stats.sessions},
          {"session_medians_ms", b.stats.session_medians_ms},
          {"median_ci_iid_ms", {b.stats.median_ci_iid_low_ms, b.stats.median_ci_iid_high_ms}},
          {"samples_ms", b.stats.kept_ms},
          {"max_ms", b.stats.max_ms},
          {"mean_ms", b.stats.mean_ms},
          {"throughput_per_s", b.throughput_per_s}};
}

// The paired top-1 comparison with FP32, in points, with its interval, test and counts.
json PairedJson(const PairedComparison& p) {
  return {{"points", 100 * p.delta},
          {"ci95_points", {100 * p.ci_low, 100 * p.ci_high}},
          {"p_value", p.p_value},
          {"significant", p.significant()},
          {"fp32_right_config_wrong", p.base_only},
          {"fp32_wrong_config_right", p.other_only},
          {"both_right", p.both_right},
          {"both_wrong", p.both_wrong},
          {"interval_method", kPairedIntervalMethod},
          {"test_method", kPairedTestMethod}};
}

json AccuracyJson(const AccuracyResult& a) {
  json j = {{"samples", a.samples},
            {"top1", a.top1},
            {"top5", a.top5},
            {"top1_hits", a.top1_hits},
            {"top5_hits", a.top5_hits},
            {"tied_top1", a.tied_top1},
            {"topk_rule", "strict: classes ordered by score, equal scores by lowest class index (np.argmax); "
                          "tied_top1 counts samples whose highest score is shared"},
            {"fp32_top1_agreement", a.agreement},
            {"output_sqnr_db", Db(a.output_sqnr_db)},
            {"sqnr_method", "10 log10(sum fp32^2 / sum (fp32 - config)^2) over the first output of all "
                            "evaluated samples; null when identical"},
            {"seconds", a.seconds}};
  if (a.vs_fp32) {
    j["top1_delta_points"] = 100 * a.vs_fp32->delta;
    j["top1_delta"] = PairedJson(*a.vs_fp32);
  } else {
    j["top1_delta_points"] = 0.0;
  }
  return j;
}

json SplitJson(const EvaluationSplit& s) {
  json j = {{"mode", s.mode},
            {"seed", s.seed},
            {"selection", s.selection},
            {"test_samples", s.test_indices.size()},
            {"test_indices_sha256", s.test_indices_sha256},
            {"validation_samples", s.validation_indices.size()},
            {"calibration_is_eval_data", s.calibration_is_eval_data},
            {"calibration_test_overlap", s.calibration_test_overlap}};
  if (!s.validation_indices.empty()) {
    j["validation_dataset"] = s.validation_dataset;
    j["validation_indices_sha256"] = s.validation_indices_sha256;
    j["validation_indices"] = s.validation_indices;
  }
  return j;
}

// "-0.08 [-0.31, +0.15]" in points, with "~" when the interval includes 0.
// A configuration on an attached device (docs/devices.md): the runner's words, accuracy
// scored as the engine's (its delta against the same device's FP32 run), agreement with
// the engine's run of the configuration, and its latency.
json DeviceJson(const JobResult& r, const DeviceResult& d) {
  json j = {{"device", d.id},     {"class", d.device_class}, {"runner", d.runner}, {"runtime", d.runtime},
            {"version", d.version}, {"provider", d.provider}, {"runner_seconds", d.seconds}};
  if (!d.error.empty()) {
    j["error"] = d.error;
    return j;
  }
  j["accuracy"] = AccuracyJson(d.accuracy);
  j["top1_differs_from_engine"] = d.differs_from_engine;
  j["latency"] = json::array();
  for (const BatchLatency& b : d.latency) {
    json lj = LatencyJson(r, b);
    lj["method"] = "single query at a time, timed by the runner around each inference, nearest-rank percentiles";
    lj.erase("execution");
    if (b.measured_joules_per_sample) lj["measured_joules_per_sample"] = *b.measured_joules_per_sample;
    j["latency"].push_back(lj);
  }
  if (d.joules_per_sample) j["energy"] = {{"measured_joules_per_inference", *d.joules_per_sample}, {"meter", d.energy_meter}};
  j["notes"] = d.notes;
  return j;
}

std::string DeltaCell(const AccuracyResult& a) {
  if (!a.vs_fp32) return "";
  const PairedComparison& p = *a.vs_fp32;
  return absl::StrFormat("%+.2f [%+.2f, %+.2f]%s", 100 * p.delta, 100 * p.ci_low, 100 * p.ci_high,
                         p.significant() ? " " : "~");
}

const ConfigResult* Baseline(const JobResult& r) {
  for (const ConfigResult& c : r.configs)
    if (c.config.precision == quant::Precision::kFp32 && c.error.empty()) return &c;
  return nullptr;
}

const BatchLatency* LatencyAt(const ConfigResult& c, int64_t bs) {
  for (const BatchLatency& b : c.latency)
    if (b.batch_size == bs) return &b;
  return nullptr;
}

}  // namespace

json ToJson(const JobResult& r) {
  json j;
  j["name"] = r.spec.name;
  j["model"] = {{"path", r.spec.model}, {"name", r.model_name}, {"file_bytes", r.model_bytes},
                {"onnx_nodes", r.model_nodes}};
  j["backend"] = r.spec.backend == Backend::kOneDnn ? "onednn" : "reference";
  j["dataset"] = {{"eval", r.spec.eval_dataset}, {"calibration", r.spec.calibration_dataset}};
  if (!r.split.test_indices.empty()) {
    j["dataset"]["eval_indices"] = r.split.mode == "holdout" ? "the first N samples in dataset order less the validation samples"
                                                             : "the first N samples in dataset order";
    j["dataset"]["eval_indices_sha256"] = r.split.test_indices_sha256;
  }
  j["evaluation"] = SplitJson(r.split);
  const ConfigResult* base = Baseline(r);
  j["configs"] = json::array();
  for (const ConfigResult& c : r.configs) {
    json cj;
    cj["name"] = c.config.name;
    cj["config"] = quant::ConfigToJson(c.config);
    if (!c.error.empty()) {
      cj["error"] = c.error;
      j["configs"].push_back(cj);
      continue;
    }
    cj["accuracy"] = AccuracyJson(c.accuracy);
    if (c.validation) cj["validation"] = AccuracyJson(*c.validation);
    cj["size"] = {{"bytes", c.model_bytes}, {"method", c.size_method}};
    cj["planned_nodes"] = c.planned_nodes;
    cj["latency"] = json::array();
    for (const BatchLatency& b : c.latency) {
      json lj = LatencyJson(r, b);
      const BatchLatency* fb = base ? LatencyAt(*base, b.batch_size) : nullptr;
      if (fb && fb->stats.median_ms > 0) lj["median_over_fp32"] = b.stats.median_ms / fb->stats.median_ms;
      cj["latency"].push_back(lj);
    }
    if (c.offline)
      cj["offline"] = {{"scenario", "MLPerf-style offline: distinct preloaded samples in batches back to back"},
                       {"batch_size", c.offline->batch_size},
                       {"samples", c.offline->samples},
                       {"passes", c.offline->pass_throughput.size()},
                       {"pass_throughput_per_s", c.offline->pass_throughput},
                       {"median_throughput_per_s", c.offline->median_throughput}};
    if (c.calibration_samples > 0)
      cj["calibration"] = {{"samples", c.calibration_samples},
                           {"indices_sha256", c.calibration_sha256},
                           {"seconds", c.calibration_seconds},
                           {"selection", "first N of a SplitMix64-driven Fisher-Yates shuffle (quant/sampler.h)"}};
    if (c.config.precision == quant::Precision::kInt) {
      cj["quantize_seconds"] = c.quantize_seconds;
      cj["params_sha256"] = c.params_sha256;
    }
    cj["layers"] = json::array();
    for (const LayerResult& l : c.layers) {
      json lj = {{"node", l.node}, {"op_type", l.op_type}, {"quantized", l.quantized}, {"sqnr_db", Db(l.sqnr_db)}};
      if (l.quantized) {
        lj["weight_bits"] = l.weight_bits;
        lj["activation_bits"] = l.activation_bits;
        lj["rounding"] = l.rounding;
        if (l.rounding != "nearest") {
          lj["rounding_seconds"] = l.rounding_seconds;
          lj["rounding_sqnr_db"] = Db(l.rounding_sqnr_db);
          lj["nearest_sqnr_db"] = Db(l.nearest_sqnr_db);
        }
        if (r.spec.sensitivity && r.spec.sqnr_samples > 0) {
          lj["alone_sqnr_db"] = Db(l.isolated_sqnr_db);
          lj["alone_output_sqnr_db"] = Db(l.isolated_output_sqnr_db);
        }
      } else {
        lj["note"] = l.note;
      }
      cj["layers"].push_back(lj);
    }
    if (!c.layers.empty())
      cj["layer_sqnr_method"] = absl::StrCat(
          "sqnr_db: each layer's output in the quantized model against FP32's on the same model inputs (error "
          "accumulated from earlier layers); alone_sqnr_db / alone_output_sqnr_db: only this layer quantized (it "
          "sees FP32's input), its output's and the model output's SQNR; first ",
          std::min(r.spec.sqnr_samples, c.accuracy.samples), " eval samples");
    cj["notes"] = c.notes;
    if (!c.exported.empty()) cj["exported_onnx"] = c.exported;
    if (!c.profile.empty()) {
      json steps = json::array();
      for (const StepTiming& t : c.profile)
        steps.push_back({{"node", t.info.node}, {"op_type", t.info.op_type}, {"implementation", t.info.implementation},
                         {"median_ms", t.median_ms}, {"share", t.share}});
      cj["profile"] = {{"batch_size", c.profile_batch},
                       {"iterations", r.spec.profile_iters},
                       {"method", "each step timed with a stream wait after it; median per step"},
                       {"steps", steps}};
    }
    cj["energy"] = {{"modeled_joules_per_inference", c.energy.modeled.total()},
                    {"modeled_compute_joules", c.energy.modeled.compute_joules},
                    {"modeled_dram_joules", c.energy.modeled.memory_joules},
                    {"modeled_source", kEnergyModelSource},
                    {"macs_fp32", c.energy.ops.macs_fp32},
                    {"macs_bf16", c.energy.ops.macs_bf16},
                    {"macs_int8", c.energy.ops.macs_int8},
                    {"weight_bytes", c.energy.ops.weight_bytes},
                    {"activation_bytes", c.energy.ops.activation_bytes},
                    {"measured_joules_per_inference",
                     c.energy.measured_joules ? json(*c.energy.measured_joules) : json(nullptr)},
                    {"measured_source", c.energy.measured_source}};
    if (!c.devices.empty()) {
      cj["devices"] = json::array();
      for (const DeviceResult& d : c.devices) cj["devices"].push_back(DeviceJson(r, d));
    }
    j["configs"].push_back(cj);
  }
  j["environment"] = {{"qbench_version", r.env.qbench_version}, {"git_revision", r.env.git_revision},
                      {"onednn_version", r.env.onednn_version}, {"onednn_isa", r.env.onednn_isa},
                      {"cpu_model", r.env.cpu_model},           {"cpu_flags", r.env.cpu_flags},
                      {"affinity", r.env.affinity},             {"governor", r.env.governor},
                      {"pinning", r.env.pinning},
                      {"compiler", r.env.compiler},             {"threads", r.env.threads},
                      {"cores", r.env.cores},                   {"seed", r.spec.seed},
                      {"peak_rss_bytes", r.env.peak_rss_bytes}};
  if (r.search) j["search"] = SearchJson(*r.search);
  return j;
}

std::string ToTable(const JobResult& r) {
  std::string s = absl::StrFormat("model      %s (%d ONNX nodes, %d bytes)\n", r.model_name, r.model_nodes,
                                  r.model_bytes);
  s += absl::StrFormat("backend    %s, %d thread(s), oneDNN %s, ISA %s\n",
                       r.spec.backend == Backend::kOneDnn ? "onednn" : "reference", r.env.threads,
                       r.env.onednn_version, r.env.onednn_isa);
  const ConfigResult* base = Baseline(r);
  s += absl::StrFormat("eval       %d test samples (%s)%s\n", r.split.test_indices.size(), r.split.selection,
                       r.split.validation_indices.empty()
                           ? std::string()
                           : absl::StrFormat("; %d validation samples", r.split.validation_indices.size()));
  s += absl::StrFormat("%-14s %8s %8s %6s %-24s %8s %9s %10s %6s %10s %10s %9s\n", "config", "top-1", "top-5", "ties",
                       "delta [95% CI] pts", "agree", "SQNR dB", "bytes", "batch", "p50 ms", "p99 ms", "vs fp32");
  for (const ConfigResult& c : r.configs) {
    if (!c.error.empty()) {
      s += absl::StrFormat("%-14s error: %s\n", c.config.name, c.error);
      continue;
    }
    const std::string delta = DeltaCell(c.accuracy);
    const std::string sqnr =
        std::isfinite(c.accuracy.output_sqnr_db) ? absl::StrFormat("%.1f", c.accuracy.output_sqnr_db) : "exact";
    bool first = true;
    for (const BatchLatency& b : c.latency) {
      const BatchLatency* fb = base ? LatencyAt(*base, b.batch_size) : nullptr;
      const std::string ratio = fb && fb->stats.median_ms > 0 ? absl::StrFormat("%.2fx", b.stats.median_ms / fb->stats.median_ms) : "";
      if (first)
        s += absl::StrFormat("%-14s %7.2f%% %7.2f%% %6d %-24s %7.2f%% %9s %10d %6d %10.3f %10.3f %9s\n", c.config.name,
                             100 * c.accuracy.top1, 100 * c.accuracy.top5, c.accuracy.tied_top1, delta,
                             100 * c.accuracy.agreement, sqnr, c.model_bytes, b.batch_size, b.stats.median_ms,
                             b.stats.p99_ms, ratio);
      else
        s += absl::StrFormat("%-14s %8s %8s %6s %-24s %8s %9s %10s %6d %10.3f %10.3f %9s\n", "", "", "", "", "", "", "",
                             "", b.batch_size, b.stats.median_ms, b.stats.p99_ms, ratio);
      first = false;
    }
    if (c.latency.empty())
      s += absl::StrFormat("%-14s %7.2f%% %7.2f%% %6d %-24s %7.2f%% %9s %10d (no latency at the requested batch sizes)\n",
                           c.config.name, 100 * c.accuracy.top1, 100 * c.accuracy.top5, c.accuracy.tied_top1, delta,
                           100 * c.accuracy.agreement, sqnr, c.model_bytes);
    if (c.validation)
      s += absl::StrFormat("%-14s validation: top-1 %.2f%% on %d samples%s%s\n", "", 100 * c.validation->top1,
                           c.validation->samples,
                           c.validation->vs_fp32 ? absl::StrCat(", delta ", DeltaCell(*c.validation)) : std::string(),
                           c.validation->tied_top1 ? absl::StrFormat(", %d tied", c.validation->tied_top1) : "");
    if (c.offline)
      s += absl::StrFormat("%-14s offline: %.1f samples/s (median of %d passes over %d samples, batch %d)\n", "",
                           c.offline->median_throughput, static_cast<int>(c.offline->pass_throughput.size()),
                           c.offline->samples, c.offline->batch_size);
    if (c.calibration_samples > 0)
      s += absl::StrFormat("%-14s calibration: %d samples in %.2f s (indices sha256 %s...)\n", "",
                           c.calibration_samples, c.calibration_seconds, c.calibration_sha256.substr(0, 12));
    if (!c.exported.empty()) s += absl::StrFormat("%-14s exported: %s\n", "", c.exported);
    s += absl::StrFormat("%-14s energy: modeled %.2f uJ/inference (compute %.2f, DRAM %.2f; Horowitz 45 nm)%s\n", "",
                         1e6 * c.energy.modeled.total(), 1e6 * c.energy.modeled.compute_joules,
                         1e6 * c.energy.modeled.memory_joules,
                         c.energy.measured_joules ? absl::StrFormat(", measured %.2f uJ (RAPL)", 1e6 * *c.energy.measured_joules)
                                                  : std::string(", not measured (no readable RAPL)"));
    for (const DeviceResult& d : c.devices) {
      if (!d.error.empty()) {
        s += absl::StrFormat("%-14s on %s: error: %s\n", "", d.id, d.error);
        continue;
      }
      s += absl::StrFormat("%-14s on %s (%s %s, %s): top-1 %.2f%%%s, top-1 differs from oneDNN's on %d of %d samples\n",
                           "", d.id, d.runtime, d.version, d.provider, 100 * d.accuracy.top1,
                           d.accuracy.vs_fp32 ? absl::StrCat(", delta ", absl::StripTrailingAsciiWhitespace(DeltaCell(d.accuracy)),
                                                                " vs its FP32")
                                              : std::string(),
                           d.differs_from_engine, d.accuracy.samples);
      for (const BatchLatency& b : d.latency)
        s += absl::StrFormat("%-14s   batch %d: p50 %.3f ms [%.3f, %.3f], p99 %.3f ms, %d queries%s\n", "",
                             b.batch_size, b.stats.median_ms, b.stats.median_ci_low_ms, b.stats.median_ci_high_ms,
                             b.stats.p99_ms, b.stats.count,
                             b.measured_joules_per_sample
                                 ? absl::StrFormat(", %.2f uJ/sample (%s)", 1e6 * *b.measured_joules_per_sample, d.energy_meter)
                                 : std::string());
    }
  }
  s += "delta: top-1 minus FP32's on the same test samples, in points, with the 95% paired interval (Newcombe); "
       "~ marks an interval that includes 0 (not distinguishable from FP32 on these samples); ties: samples whose "
       "top-1 score is shared (the lowest class index wins)\n";
  // The sensitivity table of each integer configuration.
  for (const ConfigResult& c : r.configs) {
    if (c.layers.empty()) continue;
    s += absl::StrFormat("\nper-layer SQNR, %s (dB vs FP32: in the quantized model | this layer alone: its output, "
                         "model output)\n",
                         c.config.name);
    auto db = [](double v) { return std::isfinite(v) ? absl::StrFormat("%.1f", v) : std::string("exact"); };
    for (const LayerResult& l : c.layers) {
      std::string alone;
      if (l.quantized && r.spec.sensitivity && r.spec.sqnr_samples > 0)
        alone = absl::StrFormat(" | %8s %8s", db(l.isolated_sqnr_db), db(l.isolated_output_sqnr_db));
      std::string rounding;
      if (l.quantized && l.rounding != "nearest")
        rounding = absl::StrFormat(" | %s %s dB (nearest %s) %.2f s", l.rounding, db(l.rounding_sqnr_db),
                                   db(l.nearest_sqnr_db), l.rounding_seconds);
      s += absl::StrFormat("  %-28s %-6s %s %8s%s%s\n", l.node, l.op_type,
                           l.quantized                                  ? absl::StrFormat("w%da%d", l.weight_bits, l.activation_bits)
                           : l.note.find("bf16") != std::string::npos ? "bf16"
                                                                      : "fp32",
                           db(l.sqnr_db), alone, rounding);
    }
  }
  if (r.search) s += SearchTable(*r.search);
  return s;
}

}  // namespace qbench
