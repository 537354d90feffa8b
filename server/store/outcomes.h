// What a worker reports while a job runs, beyond the result rows (results.h): progress
// per configuration and stage, each configuration's outcome (its resolved spec, error,
// notes and reproducibility hashes), QDQ exports, and the run's environment. Every write
// carries the worker's Lease and is refused with FAILED_PRECONDITION once it was lost.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/store/db.h"
#include "server/store/queue.h"

namespace qbench::store {

// Stages of a running job, the values of jobs.stage.
inline constexpr const char* kStages[] = {"calibrating", "quantizing", "evaluating", "benchmarking"};

struct Progress {
  std::string config;
  std::string stage;  // one of kStages
  int64_t done = 0, total = 0;
  std::string message;  // a line about the work (a search's best so far); may be empty
};

// Appends a progress event and sets jobs.stage. INVALID_ARGUMENT for an unknown stage or
// negative counts.
absl::Status ReportProgress(Db& db, const Lease& lease, const Progress& progress);

// The latest progress of each configuration in the job's current attempt, in
// configuration order.
absl::StatusOr<std::vector<Progress>> CurrentProgress(Db& db, int64_t job_id);

// A configuration's top-1 against the baseline's on the same samples (measure/paired.h):
// the delta (fractions), its 95% interval, the exact McNemar p-value and the discordant
// sample counts.
struct PairedDelta {
  double delta = 0, ci_low = 0, ci_high = 0;
  double p_value = 1;
  int64_t fp32_right_config_wrong = 0, fp32_wrong_config_right = 0;
};

// Accuracy on one set of samples (test or validation). Units as in 0005_accuracy.sql.
struct SplitAccuracy {
  int64_t samples = 0;
  double top1 = 0;
  std::optional<PairedDelta> vs_baseline;  // absent for the baseline
};

// Per-configuration results (0002, 0005): everything that is a property of the
// configuration rather than of a batch size. Unset optionals are stored as NULL.
struct ConfigOutcome {
  std::string config;              // a job_configs name
  std::string resolved_json;       // the configuration as the engine resolved it (JSON)
  std::string error;               // non-empty: this configuration could not run
  std::vector<std::string> notes;
  int64_t samples = 0;             // evaluation (test) samples behind the accuracy figures
  std::string params_sha256, calibration_sha256;
  std::string device;              // where it was measured ("workers/<id>/devices/<name>")
  // On the test samples: strict top-k fractions and hit counts, samples with a tied
  // top-1, agreement with FP32's top-1, output SQNR against FP32 (dB), size (bytes).
  std::optional<double> top1, top5;
  std::optional<int64_t> top1_hits, top5_hits, tied_top1;
  std::optional<double> agreement, sqnr_db;
  std::optional<int64_t> model_bytes;
  std::optional<PairedDelta> vs_baseline;          // absent for the baseline
  std::string delta_interval_method, delta_test_method;  // how vs_baseline was computed
  std::optional<SplitAccuracy> validation;         // absent without a validation split
};

// Stores a configuration's outcome (overwriting an earlier attempt's) and appends a
// "result" event naming it, which is what watchers turn into a ConfigResult. Write the
// result rows first. NOT_FOUND for an unknown configuration.
absl::Status UpsertConfigOutcome(Db& db, const Lease& lease, const ConfigOutcome& outcome);

// Outcomes of the job's configurations that have one, in configuration order.
absl::StatusOr<std::vector<ConfigOutcome>> ListConfigOutcomes(Db& db, int64_t job_id);

// Names of the job's configurations in order, with the baseline flag.
struct ConfigName {
  std::string name;
  bool is_baseline = false;
};
absl::StatusOr<std::vector<ConfigName>> ListConfigNames(Db& db, int64_t job_id);

struct ExportRef {
  std::string sha256;  // 32 raw bytes
  int64_t size = 0;
};

// Records the QDQ export of a configuration (a blob the worker uploaded).
absl::Status RecordExport(Db& db, const Lease& lease, const std::string& config, const ExportRef& blob);

// NOT_FOUND when the configuration has no export (yet).
absl::StatusOr<ExportRef> FindExport(Db& db, int64_t job_id, const std::string& config);

// The run's environment (versions, hardware, threads) as a JSON object.
absl::Status SetJobEnvironment(Db& db, const Lease& lease, const std::string& environment_json);
absl::StatusOr<std::optional<std::string>> GetJobEnvironment(Db& db, int64_t job_id);

// Which samples the job's figures come from (jobs.evaluation, 0005_accuracy.sql), a JSON
// object. INVALID_ARGUMENT when it is not one.
absl::Status SetJobEvaluation(Db& db, const Lease& lease, const std::string& evaluation_json);
absl::StatusOr<std::optional<std::string>> GetJobEvaluation(Db& db, int64_t job_id);

}  // namespace qbench::store
