// The job spec: one JSON document naming the model, the evaluation data, the sample
// count, batch sizes and threads. The local runner, the CLI and the server all accept it,
// so its field names are part of our API: add fields, never rename them.
//
// {
//   "name": "fashion-cnn",                       optional label
//   "model": "models/fashion_mnist/cnn_bn.onnx", path (relative to the spec file)
//   "eval_dataset": "models/fashion_mnist/dataset.json",  dataset manifest path
//   "samples": 10000,                            0 or absent: the whole dataset
//   "eval_batch_size": 64,                       batch used for accuracy (default: 64, or 1
//                                                for a model with a fixed batch of 1)
//   "batch_sizes": [1, 64],                      latency is measured per batch size
//   "threads": 1,                                oneDNN threads (0: all cores)
//   "backend": "onednn" | "reference",
//   "pin_threads": false,                        true: each engine thread bound to its own CPU for
//                                                the job (runtime/pinning.h), recorded in the result
//   "sub_batch": "auto" | "off" | 8,             large batches run as sub-batches that fit the
//                                                cache (runtime/sub_batch.h); default auto
//   "latency": {"warmup_iters": 10, "warmup_seconds": 0.2, "min_iters": 50, "min_seconds": 1.0,
//               "sessions": 5},                  timed queries split over fresh plans
//   "seed": 0,                                   default calibration seed
//   "configs": ["fp32", "w8a8", {"name": "w4a8-mse", "preset": "w4a8", ...}],
//                                                see quant/config.h; fp32 always runs as the baseline
//   "calibration": {"dataset": "train.json", "samples": 512, "seed": 0, "batch_size": 64},
//   "sqnr_samples": 256,                         eval samples used for the per-layer SQNR table
//   "profile_iters": 20,                         per-step timing at the largest batch (0: off)
//   "sensitivity": true,                          each layer quantized alone: its SQNR and the output's
//   "offline": {"batch_size": 64, "samples": 1024, "passes": 3},
//                                                MLPerf-style offline scenario: the samples,
//                                                distinct and preloaded, in batches back to
//                                                back; throughput per pass (absent: off)
//   "export_dir": "out/"                         writes each integer configuration as a QDQ
//                                                ONNX model, <export_dir>/<config name>.onnx
// }
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/engine/quant/config.h"
#include "worker/engine/runtime/session.h"

namespace qbench {

struct LatencySpec {
  int64_t warmup_iters = 10;
  double warmup_seconds = 0.2;
  int64_t min_iters = 50;     // run at least this many timed queries
  double min_seconds = 1.0;   // and for at least this long
  int64_t max_iters = 100000; // a safety cap
  // The timed queries are split over this many sessions (at most min_iters), each on a
  // freshly built plan with its own warm-up (warmup_iters each, warmup_seconds shared);
  // min_iters, min_seconds and max_iters are totals over them. Their medians widen the median's
  // confidence interval by what differs between runs (see measure/latency.h).
  int sessions = 5;
};

// The offline scenario (MLPerf Inference "Offline"): throughput over many distinct
// samples, not one batch repeated. batch_size 0: not run.
struct OfflineSpec {
  int64_t batch_size = 0;
  int64_t samples = 1024;
  int passes = 3;
};

struct JobSpec {
  std::string name;
  std::string model;         // resolved to an absolute or cwd-relative path
  std::string eval_dataset;  // manifest path, resolved
  int64_t samples = 0;
  int64_t eval_batch_size = 0;  // 0: choose
  std::vector<int64_t> batch_sizes = {1};
  int threads = 1;
  Backend backend = Backend::kOneDnn;
  int64_t sub_batch = SessionOptions::kAutoSubBatch;  // SessionOptions::sub_batch
  bool pin_threads = false;
  LatencySpec latency;
  uint64_t seed = 0;
  std::vector<quant::QuantConfig> configs;  // fp32 first (added when not listed)
  std::string calibration_dataset;           // manifest path, resolved; required for static configs
  int64_t calibration_samples = 512;
  int64_t calibration_batch_size = 64;
  int64_t sqnr_samples = 256;
  std::string export_dir;  // resolved; empty: no export
  bool sensitivity = true;  // the per-layer sensitivity table (one quantized model per layer)
  int profile_iters = 20;   // per-step timing runs at the largest batch (0: none)
  OfflineSpec offline;
};

// Parses and validates a spec; relative paths resolve against `base_dir`. Errors name
// the field ("job spec: field \"batch_sizes[1]\" must be >= 1").
absl::StatusOr<JobSpec> ParseJobSpec(const std::string& json_text, const std::string& base_dir);
absl::StatusOr<JobSpec> LoadJobSpec(const std::string& path);

}  // namespace qbench
