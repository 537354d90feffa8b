// A job's lifecycle, defined once for the store (jobs.state holds the lower-case name), the
// server (the API's qbench.v1.JobState, upper-case, numbered as this enum is) and the CLI.
//
//   QUEUED -> RUNNING -> SUCCEEDED | FAILED
//   QUEUED -> CANCELLED;  RUNNING -> CANCELLING -> CANCELLED
//   RUNNING -> QUEUED when a lease expires and attempts remain
#pragma once

#include <optional>
#include <string_view>

namespace qbench {

enum class JobState { kQueued = 1, kRunning, kSucceeded, kFailed, kCancelling, kCancelled };

struct JobStateDef {
  JobState state;
  std::string_view store_name;  // jobs.state ("queued")
  std::string_view api_name;    // qbench.v1.JobState ("QUEUED"), filters and the CLI
  bool terminal;                // no transition leaves it
};
inline constexpr JobStateDef kJobStates[] = {
    {JobState::kQueued, "queued", "QUEUED", false},
    {JobState::kRunning, "running", "RUNNING", false},
    {JobState::kSucceeded, "succeeded", "SUCCEEDED", true},
    {JobState::kFailed, "failed", "FAILED", true},
    {JobState::kCancelling, "cancelling", "CANCELLING", false},
    {JobState::kCancelled, "cancelled", "CANCELLED", true},
};

const JobStateDef& JobStateOf(JobState state);
// The store's name ("queued") of a state.
std::string_view JobStateName(JobState state);
// By the store's name ("queued") or the API's ("QUEUED"); nullopt for anything else.
std::optional<JobState> ParseJobState(std::string_view name);
std::optional<JobState> ParseApiJobState(std::string_view name);
inline bool IsTerminal(JobState state) { return JobStateOf(state).terminal; }

}  // namespace qbench
