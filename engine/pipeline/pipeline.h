// Runs one job spec end to end: import and optimize the model, calibrate once, build each
// configuration (fp32, bf16, integer ones), and measure accuracy, agreement with FP32,
// output and per-layer SQNR, size and latency per batch size. Pure engine code: no flags,
// no gRPC, no SQL.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "engine/measure/latency.h"
#include "engine/measure/paired.h"
#include "engine/pipeline/energy.h"
#include "engine/device/device.h"
#include "engine/runtime/session.h"
#include "spec/job_spec.h"
#include "engine/search/candidate.h"
#include "engine/search/strategies.h"

namespace qbench {

// Accuracy over one split (the test samples, or the validation samples), strict top-k
// (measure/topk.h).
struct AccuracyResult {
  int64_t samples = 0;
  double top1 = 0, top5 = 0;  // fractions in [0, 1]
  int64_t top1_hits = 0, top5_hits = 0;
  int64_t tied_top1 = 0;      // samples whose highest score is shared by several classes
  double agreement = 1;       // fraction of samples whose top-1 equals FP32's
  double output_sqnr_db = 0;  // model outputs against FP32's, all samples
  double seconds = 0;         // wall time of the evaluation pass
  // Against FP32 on the same samples (absent for FP32 itself): the paired top-1 delta,
  // its 95% interval, the exact McNemar p-value and the discordant counts.
  std::optional<PairedComparison> vs_fp32;
  std::vector<uint8_t> correct;  // per sample: top-1 hit (kept for paired comparisons)
  std::vector<int32_t> predicted;  // per sample: the top-1 class (devices compare them)
};

// Which samples the figures come from (pipeline/split.h). Test figures never use a
// sample that calibration or a selection by accuracy saw.
struct EvaluationSplit {
  // "all": every evaluated sample is a test sample (no validation split);
  // "holdout": the evaluation set split by a seeded shuffle into validation and test;
  // "dataset": validation samples from their own dataset (validation.dataset).
  std::string mode = "all";
  std::string validation_dataset;  // the manifest the validation samples come from
  uint64_t seed = 0;
  std::vector<int64_t> test_indices;        // evaluation-dataset indices, ascending
  std::vector<int64_t> validation_indices;  // indices into validation_dataset (or the eval set)
  std::string test_indices_sha256, validation_indices_sha256;  // quant::IndicesSha256
  std::string selection;  // how the indices were drawn, in words
  // Calibration against the test samples: whether calibration read the evaluation
  // dataset itself, and how many calibration samples are also test samples.
  bool calibration_is_eval_data = false;
  int64_t calibration_test_overlap = 0;
};

struct BatchLatency {
  int64_t batch_size = 0;
  LatencyStats stats;           // per query (one batch), milliseconds
  double throughput_per_s = 0;  // samples per second at the median
  // How the batch ran: in one piece or as sub-batches (DescribeSplit says why).
  BatchSplit split;
  // RAPL over the timed loop, per sample, idle baseline subtracted (when measurable).
  std::optional<double> measured_joules_per_sample;
};

// The offline scenario: samples per second over distinct preloaded samples in batches
// back to back, one figure per pass.
struct OfflineResult {
  int64_t batch_size = 0, samples = 0;
  std::vector<double> pass_throughput;  // samples/s, in run order
  double median_throughput = 0;
};

struct LayerResult {
  std::string node, op_type;
  bool quantized = false;
  std::string note;  // why a layer stayed in float
  int weight_bits = 0, activation_bits = 0;
  double sqnr_db = 0;  // this layer's output against FP32's on the same model inputs
  // Sensitivity: this layer alone quantized (the rest in float, so it sees FP32's input).
  double isolated_sqnr_db = 0, isolated_output_sqnr_db = 0;
  // Weight rounding (quant/rounding.h): the method that ran on this layer, its seconds,
  // and the layer's output SQNR on the calibration inputs with it and with nearest
  // rounding (both 0 for nearest-rounded layers).
  std::string rounding = "nearest";
  double rounding_seconds = 0, rounding_sqnr_db = 0, nearest_sqnr_db = 0;
};

// A configuration measured on an attached device (docs/devices.md, pipeline/devices.cc):
// its runner ran the configuration's ONNX form (the FP32 model, or the QDQ export) on the
// test samples and timed it; the worker scored the outputs as it scores its own.
struct DeviceResult {
  std::string id, device_class, runner;    // the worker's declaration
  std::string runtime, version, provider;  // what the runner reported
  std::string error;  // non-empty: the configuration failed on this device (the reason names it)
  AccuracyResult accuracy;  // test samples; vs_fp32 against this device's own FP32 run
  // Samples whose top-1 differs from the engine's (oneDNN's) run of this configuration.
  int64_t differs_from_engine = 0;
  std::vector<BatchLatency> latency;  // the runner's per-query times, one session
  std::optional<double> joules_per_sample;  // the device's own meter, largest batch
  std::string energy_meter;
  std::vector<std::string> notes;
  double seconds = 0;     // the runner's wall time
  std::string log;        // the runner's stderr tail: for the worker's log, never for clients
};

struct ConfigResult {
  quant::QuantConfig config;
  std::string error;  // non-empty: this configuration could not run (the others still do)
  AccuracyResult accuracy;                  // on the test samples: the figures users read
  std::optional<AccuracyResult> validation; // on the validation samples: what selections use
  std::vector<BatchLatency> latency;
  std::optional<OfflineResult> offline;
  int64_t model_bytes = 0;
  std::string size_method;
  int64_t planned_nodes = 0;
  std::string calibration_sha256;
  std::string params_sha256;  // every scale, zero point, integer weight and bias
  int64_t calibration_samples = 0;
  double calibration_seconds = 0, quantize_seconds = 0;
  std::vector<LayerResult> layers;
  std::vector<std::string> notes;
  std::string exported;  // path of the QDQ ONNX export, when the job asked for one
  EnergyResult energy;
  // Per-step time at the largest measured batch (where int8 wins or loses).
  int64_t profile_batch = 0;
  std::vector<StepTiming> profile;
  std::vector<DeviceResult> devices;  // the job's attached devices, in declaration order
};

// What a result needs to be reproduced and compared (environment.cc).
struct EnvironmentInfo {
  std::string qbench_version, git_revision, onednn_version, onednn_isa, cpu_model, compiler;
  std::string cpu_flags;      // the ISA extensions that matter here (avx2, avx512*, vnni, bf16, amx)
  std::string affinity;       // the CPUs this process may run on ("0-1")
  std::string pinning;        // OpenMP thread binding: OMP_PROC_BIND, OMP_PLACES and the effective policy
  std::string governor;       // cpufreq scaling governor, or "unreadable"
  int threads = 0, cores = 0;
  int64_t peak_rss_bytes = 0; // of the whole job, read when it ends
};

// The search (search/): the per-layer signals, every candidate it measured on the
// validation split, what each strategy chose, and which configurations were then measured
// in full on the test split (in JobResult::configs, named "search:best" and
// "search:fallback").
struct SearchResult {
  search::SearchSpec spec;
  std::vector<search::Choice> choices;  // as searched (a choice this worker cannot run is dropped)
  std::vector<search::LayerSignals> layers;
  std::vector<search::Candidate> candidates;  // every measured one, in measurement order
  std::vector<search::StrategyOutcome> strategies;
  std::optional<int64_t> best_id, fallback_id;  // candidate ids
  std::string best_config, fallback_config;     // their names in JobResult::configs
  // Rank correlation (Spearman) over the layers, per integer choice, of each predictor
  // with the measured isolated accuracy loss.
  struct Correlation {
    std::string choice;
    int layers = 0;
    double eagl = 0, sensitivity = 0;
  };
  std::vector<Correlation> correlations;
  int64_t signal_evaluations = 0, candidate_evaluations = 0, reused = 0;
  double seconds = 0, signal_seconds = 0;
  int64_t batch = 0;            // the batch latency was measured at
  double attributed_share = 0;  // of the profiled step time, the share on searched layers
  bool budget_spent = false;
  std::vector<std::string> notes;
};

struct JobResult {
  JobSpec spec;
  std::string model_name;
  int64_t model_nodes = 0, model_bytes = 0;
  std::vector<ConfigResult> configs;  // fp32 first
  EvaluationSplit split;
  EnvironmentInfo env;
  std::optional<SearchResult> search;
};

// The stages a configuration goes through (the service reports them as progress).
enum class RunStage { kCalibrating, kQuantizing, kEvaluating, kBenchmarking };
const char* RunStageName(RunStage stage);  // "calibrating", ...

// Optional callbacks for a caller that follows a job (the worker daemon). All run on the
// job's thread; none may be slow.
struct RunHooks {
  // Work units (samples, or batch sizes for benchmarking) done of `total` in a stage.
  std::function<void(const std::string& config, RunStage stage, int64_t done, int64_t total)> progress;
  // A configuration is finished (its error set when it could not run).
  std::function<void(const ConfigResult& result)> config_done;
  // Polled between batches and steps: true stops the job with CANCELLED.
  std::function<bool()> cancelled;
  // Search: a candidate an earlier attempt of this job measured, by assignment key (it is
  // reused, not measured again), and each candidate as soon as it is measured.
  std::function<std::optional<search::Candidate>(const std::string& key)> stored_candidate;
  // `choices` names the assignment's indices.
  std::function<void(const search::Candidate& c, const std::vector<search::Choice>& choices)> candidate_done;
};

// `devices`: the worker's attached devices; the spec's "devices" selects among them (a
// selector no device matches is an error).
absl::StatusOr<JobResult> RunJob(const JobSpec& spec, const RunHooks& hooks = {},
                                 const std::vector<device::Device>& devices = {});

nlohmann::json ToJson(const JobResult& r);
std::string ToTable(const JobResult& r);
// The search's part of both (search_report.cc).
nlohmann::json SearchJson(const SearchResult& r);
std::string SearchTable(const SearchResult& r);
EnvironmentInfo DescribeEnvironment(int threads);
int64_t PeakRssBytes();

}  // namespace qbench
