#include "spec/job_state.h"

namespace qbench {

const JobStateDef& JobStateOf(JobState state) {
  for (const JobStateDef& d : kJobStates)
    if (d.state == state) return d;
  return kJobStates[3];  // unreachable for a valid enum value; FAILED is the safe reading
}

std::string_view JobStateName(JobState state) { return JobStateOf(state).store_name; }

std::optional<JobState> ParseJobState(std::string_view name) {
  for (const JobStateDef& d : kJobStates)
    if (d.store_name == name) return d.state;
  return std::nullopt;
}

std::optional<JobState> ParseApiJobState(std::string_view name) {
  for (const JobStateDef& d : kJobStates)
    if (d.api_name == name) return d.state;
  return std::nullopt;
}

}  // namespace qbench
