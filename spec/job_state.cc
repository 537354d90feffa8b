#include "spec/job_state.h"

#include <cstddef>
#include <iterator>

namespace qbench {

// kJobStates lists the states in enum order, from kQueued = 1.
static_assert(static_cast<int>(JobState::kQueued) == 1 && std::size(kJobStates) == 6);
static_assert(kJobStates[static_cast<int>(JobState::kCancelled) - 1].state == JobState::kCancelled);
static_assert(kJobStates[static_cast<int>(JobState::kFailed) - 1].state == JobState::kFailed);

const JobStateDef& JobStateOf(JobState state) {
  const size_t i = static_cast<size_t>(static_cast<int>(state) - 1);
  // Out of range only for a value no JobState names; FAILED is the safe reading.
  return i < std::size(kJobStates) ? kJobStates[i] : kJobStates[static_cast<int>(JobState::kFailed) - 1];
}

std::string_view JobStateName(JobState state) { return JobStateOf(state).store_name; }

namespace {

std::optional<JobState> FindByName(std::string_view JobStateDef::*field, std::string_view name) {
  for (const JobStateDef& d : kJobStates)
    if (d.*field == name) return d.state;
  return std::nullopt;
}

}  // namespace

std::optional<JobState> ParseJobState(std::string_view name) { return FindByName(&JobStateDef::store_name, name); }

std::optional<JobState> ParseApiJobState(std::string_view name) { return FindByName(&JobStateDef::api_name, name); }

}  // namespace qbench
