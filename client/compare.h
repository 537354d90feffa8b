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
std::string FormatCompareTable(const std::vector<CompareRow>& rows);
// RFC 4180 CSV with a header row; unset figures are empty fields.
std::string FormatCompareCsv(const std::vector<CompareRow>& rows);
// A JSON array of objects; unset figures are null.
std::string FormatCompareJson(const std::vector<CompareRow>& rows);

}  // namespace qbench::client
