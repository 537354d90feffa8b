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
//                                                see spec/quant_config.h; fp32 always runs as the baseline
//   "calibration": {"dataset": "train.json", "samples": 512, "seed": 0, "batch_size": 64},
//   "validation": {"samples": 2000, "seed": 0}  held-out samples for choices made by accuracy
//                                                (pipeline/split.h): split off the evaluation set
//                                                by a seeded shuffle ("fraction": 0.2 instead of
//                                                "samples"), or drawn from "dataset": "val.json";
//                                                test figures then exclude them (absent: none)
//   "sqnr_samples": 256,                         eval samples used for the per-layer SQNR table
//   "profile_iters": 20,                         per-step timing at the largest batch (0: off)
//   "sensitivity": true,                          each layer quantized alone: its SQNR and the output's
//   "offline": {"batch_size": 64, "samples": 1024, "passes": 3},
//                                                MLPerf-style offline scenario: the samples,
//                                                distinct and preloaded, in batches back to
//                                                back; throughput per pass (absent: off)
//   "export_dir": "out/"                         writes each integer configuration as a QDQ
//                                                ONNX model, <export_dir>/<config name>.onnx
//   "max_job_seconds": 3600,                     wall-clock limit of the whole job (default:
//                                                JobSpecLimits::default_job_seconds)
//   "search": {"max_drop": 0.5, "objective": "latency", ...}
//                                                the precision of every layer searched under an
//                                                accuracy budget (spec/search_spec.h); needs a
//                                                validation split
// }
//
// Every count, size and duration is an integer (or number) checked against its range in
// the widest type before it is narrowed, and against the JobSpecLimits below: the server
// refuses a job over its limits (--job-limit NAME=VALUE), and the engine's parser refuses
// it again on the worker, so `qbench-worker --local` is protected too.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "spec/backend.h"
#include "spec/quant_config.h"
#include "spec/search_spec.h"

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

// Held-out validation samples (pipeline/split.h). Anything chosen by accuracy is chosen on
// them; the figures users read come from the remaining test samples.
struct ValidationSpec {
  std::string dataset;  // manifest path, resolved; empty: split off the evaluation set
  int64_t samples = 0;  // how many; 0 with fraction 0: no validation split
  double fraction = 0;  // of the evaluated samples, when samples is 0 (evaluation-set split only)
  uint64_t seed = 0;
  bool enabled() const { return samples > 0 || fraction > 0; }
};

// Caps on what one job may ask for: generous for real jobs, small enough that no spec
// can keep a worker busy for ever or make it allocate without bound. Each has a name
// (kJobSpecLimits) so the server and the worker can be configured with the same flags.
struct JobSpecLimits {
  int64_t samples = 10'000'000;            // samples, validation.samples
  int64_t batch_size = 4096;               // batch_sizes[i], eval_batch_size, sub_batch,
                                           // offline.batch_size, calibration.batch_size
  int64_t batch_sizes = 64;                // how many batch sizes
  int64_t configs = 256;                   // how many configurations
  int64_t threads = 1024;
  int64_t latency_iters = 1'000'000;       // latency.min_iters, max_iters, warmup_iters
  double latency_seconds = 600;            // latency.min_seconds, warmup_seconds
  int64_t latency_sessions = 50;
  int64_t offline_samples = 1'000'000;
  int64_t offline_passes = 100;
  int64_t calibration_samples = 1'000'000;  // calibration.samples, configs[i].calibration.samples
  int64_t sqnr_samples = 100'000;
  int64_t profile_iters = 10'000;
  double max_job_seconds = 7 * 86400.0;    // the largest max_job_seconds a spec may ask for
  double default_job_seconds = 86400;      // max_job_seconds when the spec gives none
  // Worker side: threads above this machine's CPUs (sched_getaffinity) run with one per
  // CPU, and JobSpec::requested_threads keeps what was asked. The server turns this off:
  // its cores say nothing about a worker's.
  bool cap_threads_at_cpus = true;
};

// One row per configurable limit: its name (the spec field it bounds), where it lives,
// and its meaning for --help. Exactly one of the two members is set.
struct JobSpecLimitDef {
  const char* name;
  int64_t JobSpecLimits::*integer;
  double JobSpecLimits::*number;
  const char* help;
};
extern const JobSpecLimitDef kJobSpecLimits[];
extern const int kJobSpecLimitCount;

// Applies "NAME=VALUE" (a --job-limit flag) to `limits`; INVALID_ARGUMENT naming the
// limit for an unknown name or a value that is not a positive number.
absl::Status SetJobSpecLimit(const std::string& name_equals_value, JobSpecLimits* limits);
// The --job-limit help: one line per limit with its default.
std::string JobSpecLimitsHelp();

// A search's results come back as two more configurations (JobResult::configs): the
// chosen candidate and the fallback baseline, re-measured on the test split. Names that
// start with "search:" are reserved for them; the server adds them to a search job's
// configurations, and a worker leaves them out of the ones it runs.
inline constexpr char kSearchConfigPrefix[] = "search:";
inline constexpr char kSearchBestConfig[] = "search:best";
inline constexpr char kSearchFallbackConfig[] = "search:fallback";
struct JobSpec {
  std::string name;
  std::string model;         // resolved to an absolute or cwd-relative path
  std::string eval_dataset;  // manifest path, resolved
  int64_t samples = 0;
  int64_t eval_batch_size = 0;  // 0: choose
  std::vector<int64_t> batch_sizes = {1};
  int threads = 1;
  Backend backend = Backend::kOneDnn;
  int64_t sub_batch = kAutoSubBatch;  // SessionOptions::sub_batch
  bool pin_threads = false;
  LatencySpec latency;
  uint64_t seed = 0;
  // The baseline first: the first FP32 configuration listed (or "fp32", added when none
  // is), then the rest in the spec's order (OrderBaselineFirst). The store flags
  // configs[0] as the job's baseline; the pipeline measures everything against it.
  std::vector<quant::QuantConfig> configs;
  bool configs_listed = false;  // the spec had "configs" (else configs is the added fp32)
  std::string calibration_dataset;           // manifest path, resolved; required for static configs
  int64_t calibration_samples = 512;
  int64_t calibration_batch_size = 64;
  ValidationSpec validation;
  int64_t sqnr_samples = 256;
  std::string export_dir;  // resolved; empty: no export
  bool sensitivity = true;  // the per-layer sensitivity table (one quantized model per layer)
  int profile_iters = 20;   // per-step timing runs at the largest batch (0: none)
  OfflineSpec offline;
  // The job's wall-clock limit in seconds (> 0): the worker's job runner stops the job
  // when it is exceeded.
  double max_job_seconds = 86400;
  // What the spec asked for when the worker lowered `threads` to its CPUs (0: not lowered).
  int requested_threads = 0;
  search::SearchSpec search;  // enabled: the job searches per-layer precisions
  // Attached devices to measure every configuration on too (docs/devices.md), by device
  // id or class; at most kMaxJobDevices, each [a-z0-9][a-z0-9_-]{0,63}.
  std::vector<std::string> devices;
};
inline constexpr int kMaxJobDevices = 16;

// The configuration names a parsed spec's job stores: its configurations, then the
// search's two when it searches.
inline std::vector<std::string> JobConfigNames(const JobSpec& spec) {
  std::vector<std::string> names;
  for (const quant::QuantConfig& c : spec.configs) names.push_back(c.name);
  if (spec.search.enabled) {
    names.push_back(kSearchBestConfig);
    names.push_back(kSearchFallbackConfig);
  }
  return names;
}

// Puts the baseline first: the first FP32-precision configuration, "fp32" inserted when
// there is none; the others keep their order.
void OrderBaselineFirst(std::vector<quant::QuantConfig>* configs);

// Which of the job's files are given (by the spec's paths, or by the request's blob and
// shared-path references on the server, or by the worker's local copies).
struct JobFiles {
  bool model = false;
  bool eval_dataset = false;
  bool calibration_dataset = false;
};
JobFiles FilesOf(const JobSpec& spec);  // by the spec's own paths
// model and eval_dataset are required; calibration.dataset when a configuration uses
// static activations or the job searches. Errors name the field as ParseJobSpec does.
absl::Status CheckJobFiles(const JobSpec& spec, const JobFiles& given);

// Parses and validates every field of a spec document, leaving its paths as written and
// not requiring its files: the server (which gets files as request references) and the
// worker (which replaces them with its local copies) then complete it and call
// CheckJobFiles. One parser for every reader of the spec; no placeholders.
absl::StatusOr<JobSpec> ParseJobSpecDocument(const std::string& json_text, const JobSpecLimits& limits = JobSpecLimits());

// Limits that refuse nothing a server could be configured to accept (every bound of
// kJobSpecLimits at its largest; threads not capped): what a client checks a spec with
// before it uploads anything. The server checks again with its own.
JobSpecLimits WidestJobSpecLimits();

// Parses and validates a spec; relative paths resolve against `base_dir`. Errors name
// the field ("job spec: field \"batch_sizes[1]\" must be >= 1").
// Values above `limits` are errors naming the field and the limit. The spec's own paths
// must give its files (CheckJobFiles).
absl::StatusOr<JobSpec> ParseJobSpec(const std::string& json_text, const std::string& base_dir,
                                     const JobSpecLimits& limits = JobSpecLimits());
absl::StatusOr<JobSpec> LoadJobSpec(const std::string& path, const JobSpecLimits& limits = JobSpecLimits());

}  // namespace qbench
