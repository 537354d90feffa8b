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
  std::string error;   // non-empty: the configuration did not run; figures are unset
  int64_t batch_size = 0;  // 0: no latency was measured
  // Accuracy, in percent / percentage points.
  std::optional<double> top1_pct, delta_top1_pts, agreement_pct;
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
  // Not dominated within its job and batch size: no other configuration there has
  // top-1 >= , p50 <= and size <= with one of them strictly better.
  bool pareto = false;
};

// Rows in input order: jobs, then their configurations (fp32 first, as the server sends
// them), then batch sizes ascending. batch_filter > 0 keeps only that batch size (and
// rows without latency).
std::vector<CompareRow> BuildCompareRows(std::span<const qbench::v1::JobResults> results, int64_t batch_filter = 0);

// A fixed-width text table with a header; the JOB column only when rows span several jobs.
// P50 carries its confidence interval when known: "1.234 [1.200, 1.260]".
std::string FormatCompareTable(const std::vector<CompareRow>& rows);
// RFC 4180 CSV with a header row; unset figures are empty fields. Every figure but the
// samples, one column each.
std::string FormatCompareCsv(const std::vector<CompareRow>& rows);
// A JSON array of objects; unset figures are null. Includes samples_ms (an array).
std::string FormatCompareJson(const std::vector<CompareRow>& rows);

}  // namespace qbench::client
