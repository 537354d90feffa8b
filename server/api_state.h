// JobState (spec/job_state.h) to and from the API's enum, by name: qbench.v1.JobState's
// value names are JobStateDef::api_name, so no numbering is assumed on either side.
#pragma once

#include <string>

#include "qbench/v1/qbench.pb.h"
#include "spec/job_state.h"

namespace qbench::server {

inline qbench::v1::JobState ToApiState(JobState s) {
  qbench::v1::JobState out = qbench::v1::JOB_STATE_UNSPECIFIED;
  if (!qbench::v1::JobState_Parse(std::string(JobStateOf(s).api_name), &out)) return qbench::v1::JOB_STATE_UNSPECIFIED;
  return out;
}

inline std::optional<JobState> FromApiState(qbench::v1::JobState s) {
  return ParseApiJobState(qbench::v1::JobState_Name(s));
}

}  // namespace qbench::server
