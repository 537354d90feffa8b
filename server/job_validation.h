// Request validation for the Jobs service: proto in, plain structs out, INVALID_ARGUMENT
// naming the field otherwise.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "qbench/v1/qbench.pb.h"
#include "server/job_repository.h"
#include "spec/job_spec.h"

namespace qbench::server {

// Limits on a job's size (the "limits on job size"). `spec` bounds every count,
// size and duration in the spec (spec/job_spec.h; --job-limit NAME=VALUE); workers
// parse with their own JobSpecLimits, so give them the same values.
struct JobLimits {
  int max_configs = 32;
  int64_t max_samples = 1000000;
  int64_t max_spec_bytes = 256 * 1024;
  JobSpecLimits spec;
  // Where shared paths may point (--shared-root DIR, repeatable; real paths). Empty, the
  // default: every shared path is refused and jobs must upload their files. Workers
  // check the real path again against their own --shared-root.
  std::vector<std::string> shared_roots;
};

// Checks every field, parses spec_json with the spec library's ParseJobSpecDocument (its
// errors name the spec field, e.g. "configs[0]"), takes each file from the request's
// reference or the spec's shared path, and returns the job to store.
absl::StatusOr<NewJob> ValidateCreateJob(const qbench::v1::CreateJobRequest& request, const std::string& team_id,
                                         const JobLimits& limits);

// "jobs/123" -> 123; INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<int64_t> ParseJobName(const std::string& name, const std::string& field = "name");

// The AIP-160 subset of ListJobsRequest.filter: `state = RUNNING AND display_name = "x"`.
absl::StatusOr<JobFilter> ParseJobFilter(const std::string& filter);

// AIP-158: 0 -> 50, above 1000 -> 1000, negative -> INVALID_ARGUMENT.
absl::StatusOr<int32_t> NormalizePageSize(int32_t page_size);

}  // namespace qbench::server
