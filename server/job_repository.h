// What the Jobs service needs from storage. The PostgreSQL store implements it; the
// service converts protos to these plain structs at its edge (no proto or SQL types
// cross this interface). Every call is scoped to a team: another team's job is NOT_FOUND.
// Implementations must be thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "spec/job_state.h"
#include "qbench/v1/qbench.pb.h"

namespace qbench::server {

using ::qbench::JobState;  // spec/job_state.h
enum class JobStage { kNone = 0, kCalibrating, kQuantizing, kEvaluating, kBenchmarking };

// A model or dataset: an uploaded blob (by digest) or a path workers can read.
struct ArtifactSource {
  enum class Kind { kNone, kBlob, kSharedPath };
  Kind kind = Kind::kNone;
  std::string value;     // sha256 hex for kBlob, absolute path for kSharedPath
  std::string manifest;  // dataset archives: the manifest's path inside the archive
};

// A validated CreateJob request.
struct NewJob {
  std::string team_id;
  std::string display_name;
  std::string spec_json;  // as submitted; it parsed with qbench::ParseJobSpecDocument
  ArtifactSource model, eval_dataset, calibration_dataset;
  std::string device_class;  // at most one of device_class and device is set
  std::string device;        // "workers/<host>/devices/<id>"
  std::string request_id;    // empty: none
  std::vector<std::string> config_names;  // the baseline first (spec/job_spec.h JobConfigNames)
  int64_t samples = 0;                    // evaluation samples (0: whole dataset)
};

// A configuration's progress within its current stage.
struct ConfigProgressRecord {
  std::string config;
  JobStage stage = JobStage::kNone;
  int64_t done = 0, total = 0;
};

struct JobRecord {
  int64_t id = 0;  // the resource name is "jobs/<id>"
  NewJob job;
  JobState state = JobState::kQueued;
  JobStage stage = JobStage::kNone;
  std::string failure_reason;
  int32_t attempts = 0;
  std::string worker;  // "workers/<host>" or empty
  std::vector<ConfigProgressRecord> progress;  // filled by GetJob only
  absl::Time create_time = absl::InfinitePast(), start_time = absl::InfinitePast(), end_time = absl::InfinitePast();
};

// Parsed ListJobs filter; unset members do not filter.
struct JobFilter {
  std::optional<JobState> state;
  std::optional<std::string> display_name;
};

struct JobPage {
  std::vector<JobRecord> jobs;
  std::string next_page_token;  // empty on the last page
};

class JobRepository {
 public:
  virtual ~JobRepository() = default;
  // Inserts a QUEUED job. When the team already used `request_id`, returns that job
  // unchanged (AIP-155).
  virtual absl::StatusOr<JobRecord> CreateJob(const NewJob& job) = 0;
  virtual absl::StatusOr<JobRecord> GetJob(const std::string& team_id, int64_t id) = 0;
  // Newest first. `page_size` is already in [1, 1000]; `page_token` is whatever this
  // repository returned before (INVALID_ARGUMENT "page_token" when it cannot decode it).
  virtual absl::StatusOr<JobPage> ListJobs(const std::string& team_id, const JobFilter& filter, int32_t page_size,
                                           const std::string& page_token) = 0;
  // QUEUED -> CANCELLED, RUNNING -> CANCELLING; FAILED_PRECONDITION when finished.
  virtual absl::StatusOr<JobRecord> CancelJob(const std::string& team_id, int64_t id) = 0;

  // The job's events with sequence > after_sequence, as API messages (sequence from 1),
  // and whether the job has ended (no event will follow the last one returned).
  struct EventsPage {
    std::vector<qbench::v1::JobEvent> events;
    bool ended = false;
  };
  virtual absl::StatusOr<EventsPage> ListEvents(const std::string& team_id, int64_t id, int64_t after_sequence) = 0;

  // Blocks up to `timeout` for new job events anywhere; returns the ids of jobs that got
  // some (empty on timeout). Watchers poll anyway, so a lost wake-up only adds latency.
  virtual absl::StatusOr<std::vector<int64_t>> WaitForEvents(absl::Duration timeout) = 0;

  // The comparison of the job's configurations and its per-layer table.
  virtual absl::StatusOr<qbench::v1::JobResults> GetResults(const std::string& team_id, int64_t id) = 0;

  // The QDQ export of one configuration: hex SHA-256 and size of a stored blob.
  // NOT_FOUND when the job or the export does not exist.
  struct ExportBlob {
    std::string sha256;
    int64_t size = 0;
  };
  virtual absl::StatusOr<ExportBlob> FindExport(const std::string& team_id, int64_t id, const std::string& config) = 0;
};

}  // namespace qbench::server
