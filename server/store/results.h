// Results written by workers: one latency row per (job, configuration, device, batch
// size) and a per-layer SQNR table, both idempotent upserts. A configuration's accuracy,
// SQNR and size are per configuration (ConfigOutcome, outcomes.h), not per row; the
// row's own accuracy fields are for rows written before 0005. A new attempt's claim
// deletes the earlier attempts' rows (queue.h). Writes carry the worker's Lease.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/store/db.h"
#include "server/store/queue.h"

namespace qbench::store {

// One measured row; unset optionals are stored as NULL. Units as in 0001_init.sql.
struct ResultRow {
  std::string config;  // a job_configs name of the job
  std::string device;
  int batch_size = 0;
  std::optional<double> top1, top5, agreement, sqnr_db;
  std::optional<int64_t> model_bytes;
  std::optional<double> p50_ms, p99_ms, throughput;
  std::optional<double> energy_j;              // joules per sample
  std::optional<std::string> energy_source;    // "rapl", "external", "estimated"
  std::optional<int64_t> iterations;           // timed queries behind p50/p99
  std::optional<std::string> energy_meter;     // e.g. "intel-rapl:0"
  // Latency detail (0004_latency_detail.sql), ms: more percentiles, the extremes, the
  // mean, and the confidence interval of the median (p50_ms) with how it was built.
  std::optional<double> p90_ms, p999_ms, min_ms, max_ms, mean_ms;
  std::optional<double> median_ci_low_ms, median_ci_high_ms;
  std::optional<int> latency_sessions;         // freshly built plans the samples came from
  std::optional<std::string> latency_method;   // how the median's interval was built
  // The timed queries' latencies in run order (the engine keeps at most 1000, evenly
  // downsampled); empty is stored as NULL: none kept.
  std::vector<double> latency_samples_ms;
};

// INSERT ... ON CONFLICT (job, config, device, batch_size) DO UPDATE: writing the same key
// twice (a retried attempt) leaves one row with the latest values. INVALID_ARGUMENT for
// an empty device or batch_size < 1, NOT_FOUND for an unknown config name,
// FAILED_PRECONDITION when the lease was lost.
absl::Status UpsertResult(Db& db, const Lease& lease, const ResultRow& row);

// A job's results ordered by config ordinal, device, batch size.
absl::StatusOr<std::vector<ResultRow>> ListResults(Db& db, int64_t job_id);

struct LayerResult {
  std::string layer;  // graph node name
  std::string op_type;
  std::optional<double> sqnr_db;
  bool quantized = false;
  std::optional<int> weight_bits, activation_bits;
  std::optional<double> isolated_sqnr_db, isolated_output_sqnr_db;
  std::string note;  // why the layer stayed in float
  std::string rounding = "nearest";  // how the weights were rounded (quant/rounding.h)
  std::optional<double> rounding_seconds, rounding_sqnr_db, nearest_sqnr_db;
};

// Upserts the per-layer table of one configuration (ON CONFLICT (job, config, layer)).
// NOT_FOUND for an unknown config, FAILED_PRECONDITION when the lease was lost.
absl::Status UpsertLayerResults(Db& db, const Lease& lease, const std::string& config,
                                const std::vector<LayerResult>& layers);

// A configuration's layers in the order they were written.
absl::StatusOr<std::vector<LayerResult>> ListLayerResults(Db& db, int64_t job_id, const std::string& config);

}  // namespace qbench::store
