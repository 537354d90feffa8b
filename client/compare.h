// The comparison of a job's configurations: one row per (job, configuration, batch
// size), deltas against FP32, and the Pareto front. Pure functions from JobResults
// protos so they can be tested without a server.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "qbench/v1/qbench.pb.h"

namespace qbench::client {

struct CompareRow {
  std::string job;     // "jobs/12"
  std::string config;  // "w8a8"
  std::string device;  // "workers/<host>/devices/<id>"
  std::string device_id;  // "<id>": the table's DEVICE column, when rows span several
  // An attached device (docs/devices.md): what ran it, and the test samples whose top-1
  // differs from the engine's run of the same configuration. Empty/unset for the engine.
  std::string runner, runtime, runtime_version, provider;
  std::optional<int64_t> differs_from_engine;
  std::string error;   // non-empty: the configuration did not run; figures are unset
  int64_t batch_size = 0;  // 0: no latency was measured
  // Accuracy, in percent / percentage points.
  std::optional<double> top1_pct, delta_top1_pts, agreement_pct;
  // What top-1 rests on, when the server has it: test samples, top-1 hits (strict
  // arg-max, ties to the lowest class index) and samples whose top score was tied.
  std::optional<int64_t> samples, top1_hits, tied_top1;
  // The paired delta to the baseline (unset for the baseline itself and from a server
  // before it): its 95% interval in points, the exact McNemar p-value, the discordant
  // sample counts, and whether the interval excludes 0.
  std::optional<double> delta_ci_low_pts, delta_ci_high_pts, delta_p_value;
  std::optional<int64_t> fp32_right_config_wrong, fp32_wrong_config_right;
  std::optional<bool> delta_significant;
  std::string delta_interval_method, delta_test_method;
  // The same configuration on the job's validation samples (unset without a split).
  std::optional<int64_t> validation_samples;
  std::optional<double> validation_top1_pct, validation_delta_pts, validation_delta_ci_low_pts,
      validation_delta_ci_high_pts;
  std::string evaluation_mode;  // the job's split: "all", "holdout", "dataset"; empty: unknown
  std::optional<double> sqnr_db;  // model output against FP32's; unset for fp32 itself
  // Model size: KiB and the fraction of FP32's.
  std::optional<double> size_kib, size_ratio;
  // Latency per query at batch_size, ms; ratio is p50 over FP32's p50 (lower is faster).
  std::optional<double> p50_ms, p99_ms, latency_ratio, throughput_per_s;
  // Latency detail, ms, when the server has it: the spread, and the confidence interval
  // of p50 with how it was built and the sessions (fresh plans) the samples came from.
  std::optional<double> p90_ms, p999_ms, min_ms, max_ms, mean_ms, median_ci_low_ms, median_ci_high_ms;
  int64_t latency_sessions = 0;  // 0: unknown
  std::string latency_method;
  std::vector<double> samples_ms;  // run order; JSON only (too long for a table or CSV)
  // Joules per sample when measured at this batch size (or at an unspecified one).
  std::optional<double> energy_j_per_sample;
  std::string energy_source;  // "RAPL", "EXTERNAL_METER", "ESTIMATED"; empty when not measured
  // Not dominated within its job, device and batch size: no other configuration there has
  // top-1 >= , p50 <= and size <= with one of them strictly better.
  bool pareto = false;
};

// Rows in input order: jobs, then their configurations (the baseline first, as the server
// sends them), then batch sizes ascending. The baseline is the configuration the server
// flags (is_baseline), whatever its name; from a server that flags none, the first.
// batch_filter > 0 keeps only that batch size (and rows without latency).
std::vector<CompareRow> BuildCompareRows(std::span<const qbench::v1::JobResults> results, int64_t batch_filter = 0);

// A fixed-width text table with a header; the JOB column only when rows span several jobs,
// DEVICE and DIFFERS (samples whose top-1 differs from the engine's) only when they span
// several devices.
// P50 carries its confidence interval when known: "1.234 [1.200, 1.260]"; the top-1
// delta its 95% interval in points, "-0.33 [-1.10, +0.40] ~", where "~" marks a delta
// indistinguishable from zero (the interval holds 0); P is the McNemar p-value and TIES
// the samples whose top-1 was a tie.
std::string FormatCompareTable(const std::vector<CompareRow>& rows);
// RFC 4180 CSV with a header row; unset figures are empty fields. Every figure but the
// samples, one column each.
std::string FormatCompareCsv(const std::vector<CompareRow>& rows);
// A JSON array of objects; unset figures are null. Includes samples_ms (an array).
std::string FormatCompareJson(const std::vector<CompareRow>& rows);

}  // namespace qbench::client
