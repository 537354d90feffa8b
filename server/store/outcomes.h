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
};

// Appends a progress event and sets jobs.stage. INVALID_ARGUMENT for an unknown stage or
// negative counts.
absl::Status ReportProgress(Db& db, const Lease& lease, const Progress& progress);

// The latest progress of each configuration in the job's current attempt, in
// configuration order.
absl::StatusOr<std::vector<Progress>> CurrentProgress(Db& db, int64_t job_id);

struct ConfigOutcome {
  std::string config;              // a job_configs name
  std::string resolved_json;       // the configuration as the engine resolved it (JSON)
  std::string error;               // non-empty: this configuration could not run
  std::vector<std::string> notes;
  int64_t samples = 0;             // evaluation samples behind the accuracy figures
  std::string params_sha256, calibration_sha256;
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

}  // namespace qbench::store
