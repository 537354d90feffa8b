// Jobs: create (idempotent with a request_id), get, list (keyset pagination), cancel, and
// the event history. The queue side (claim, lease, reap, complete) is in queue.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/store/db.h"
#include "spec/job_state.h"

namespace qbench::store {

// The states and their names in jobs.state ("queued", "running", ...): spec/job_state.h.
using ::qbench::IsTerminal;
using ::qbench::JobState;
using ::qbench::JobStateName;
using ::qbench::ParseJobState;

// One bit-width configuration of a job (a row of job_configs).
struct JobConfig {
  std::string name;              // unique within the job, non-empty
  std::string spec_json = "{}";  // the configuration as the job spec gives it
  bool is_baseline = false;      // the FP32 reference (at most one per job)
};

// Where a job's model or dataset comes from: an uploaded blob or a shared path.
struct AssetRef {
  std::optional<std::string> blob_sha256;  // 32 raw bytes
  int64_t blob_size = 0;
  std::string blob_path;                   // where the server keeps the blob (blobs.path)
  std::optional<std::string> path;         // a path workers read directly
  std::string manifest;                    // dataset archives: the manifest inside
};

struct JobAssets {
  std::optional<AssetRef> model, eval_dataset, calibration_dataset;
};

struct NewJob {
  int64_t team_id = 0;
  std::optional<std::string> request_id;  // retries with the same id return the same job
  std::string display_name;
  std::string spec_json;                  // the job spec (a JSON object)
  int64_t samples = 0;                    // evaluation samples, 0: the whole dataset
  std::vector<JobConfig> configs;         // at least one
  std::string device_class = "cpu";       // runs on a worker with a device of this class...
  std::optional<std::string> device_name; // ...or, when set, on the device of this name
  std::optional<int64_t> model_id;
  std::optional<int64_t> dataset_id;              // evaluation data
  std::optional<int64_t> calibration_dataset_id;
  int max_attempts = 3;                   // >= 1
  // Recorded as models/datasets rows and linked from the job (model_id etc. then ignored).
  // A blob must be owned by the team (blob_owners), else FAILED_PRECONDITION.
  JobAssets assets;
};

struct Job {
  int64_t id = 0;
  int64_t team_id = 0;
  std::optional<std::string> request_id;
  std::string display_name;
  std::string spec_json;
  int64_t samples = 0;
  std::optional<int64_t> model_id, dataset_id, calibration_dataset_id;
  std::string device_class;
  std::optional<std::string> device_name;
  JobState state = JobState::kQueued;
  std::optional<std::string> stage;   // calibrating, quantizing, evaluating, benchmarking
  int attempts = 0;                   // claims so far
  int max_attempts = 0;
  std::optional<std::string> worker;  // last worker that claimed it
  std::optional<std::string> error;   // failure reason
  absl::Time created_at;
  std::optional<absl::Time> started_at;   // first claim
  std::optional<absl::Time> finished_at;  // terminal state reached
  absl::Time updated_at;
};

struct CreateJobResult {
  Job job;
  bool created = false;  // false: an earlier request with the same request_id made it
};

// INVALID_ARGUMENT for an empty spec, no configs, an empty or repeated config name, more
// than one baseline, max_attempts < 1, an empty request_id or device class, or a spec that
// is not valid JSON; FAILED_PRECONDITION for an unknown team, model or dataset;
// ALREADY_EXISTS when the request_id was used with a different spec.
absl::StatusOr<CreateJobResult> CreateJob(Db& db, const NewJob& job);

// NOT_FOUND when the job does not exist or belongs to another team.
absl::StatusOr<Job> GetJob(Db& db, int64_t team_id, int64_t job_id);

// The job's model and datasets (empty members for none).
absl::StatusOr<JobAssets> GetJobAssets(Db& db, int64_t job_id);

struct ListJobsRequest {
  int64_t team_id = 0;
  std::optional<JobState> state;  // filter; none: every state
  std::optional<std::string> display_name;  // filter: exact match
  int page_size = 0;              // 0: kDefaultPageSize; clamped to kMaxPageSize
  std::string page_token;         // from the previous page; empty: first page
};
inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;

struct JobPage {
  std::vector<Job> jobs;        // newest first (descending id)
  std::string next_page_token;  // empty on the last page
};

// Keyset pagination on id (stable under concurrent inserts). INVALID_ARGUMENT for a
// negative page size or a token that is malformed or was issued for another filter (state or display_name).
absl::StatusOr<JobPage> ListJobs(Db& db, const ListJobsRequest& request);

// queued -> cancelled at once; running -> cancelling (the worker sees it on its next
// heartbeat and stops); cancelling/cancelled are returned unchanged. FAILED_PRECONDITION
// for a succeeded or failed job, NOT_FOUND as GetJob. Returns the job after the change.
absl::StatusOr<Job> CancelJob(Db& db, int64_t team_id, int64_t job_id);

enum class EventKind { kState, kProgress, kError, kResult };
std::string_view EventKindName(EventKind kind);

struct JobEvent {
  int64_t id = 0;
  int64_t job_id = 0;
  absl::Time at;
  std::string kind;                  // "state", "progress", "error", "result"
  std::optional<std::string> state;  // for state events
  std::optional<std::string> stage;
  std::optional<int> attempt;
  std::optional<std::string> worker;
  std::string message;
  std::optional<std::string> config;  // progress and result events: the configuration
  std::optional<int64_t> done, total; // progress events: work units in the stage
};

// Events of a job with id > after_id, oldest first (watch polls with the last id seen).
absl::StatusOr<std::vector<JobEvent>> ListJobEvents(Db& db, int64_t job_id, int64_t after_id = 0);

}  // namespace qbench::store
