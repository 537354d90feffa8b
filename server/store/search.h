// Mixed-precision search candidates (0008_search_candidates.sql): the worker writes each
// candidate as soon as it is measured and the search's summary when it ends; a later
// attempt of the job reads the candidates back to resume instead of measuring them again.
// Writes carry the worker's Lease. Unlike results, a new claim keeps the candidates.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/store/db.h"
#include "server/store/queue.h"

namespace qbench::store {

struct SearchCandidateRow {
  std::string key;       // the assignment key ("2.2.0.3"), unique within the job
  int ordinal = 0;       // evaluation order within the attempt that measured it
  int attempt = 0;       // set from the lease on write
  std::string worker;    // set from the lease on write
  std::string hardware;  // what the figures were measured on (CPU model, ISA, threads)
  std::string strategy;
  std::vector<std::string> assignment;  // choice names, one per searched layer
  int64_t samples = 0;
  double top1 = 0, drop_points = 0, ci_low_points = 0, ci_high_points = 0;
  bool timed = false;
  std::optional<double> latency_ms, latency_ci_low_ms, latency_ci_high_ms;
  int batch_size = 1;
  int64_t model_bytes = 0;
  double energy_j = 0;
  std::optional<double> objective;
  bool within_budget = false, on_front = false;
  double seconds = 0;
  std::string candidate_json;  // the engine's record (search::CandidateToJson), a JSON object
};

// INSERT ... ON CONFLICT (job, key) DO UPDATE: a candidate measured again (with its
// latency, or on other hardware) keeps one row. INVALID_ARGUMENT for an empty or
// over-long key, a batch size < 1 or a candidate that is not a JSON object,
// FAILED_PRECONDITION when the lease was lost.
absl::Status UpsertSearchCandidate(Db& db, const Lease& lease, const SearchCandidateRow& row);

// A job's candidates, oldest first (attempt, then ordinal).
absl::StatusOr<std::vector<SearchCandidateRow>> ListSearchCandidates(Db& db, int64_t job_id);

// The search ended: its summary (a JSON object) into jobs.search and on_front set for
// exactly `front_keys`.
absl::Status FinishSearch(Db& db, const Lease& lease, const std::string& summary_json,
                          const std::vector<std::string>& front_keys);

// jobs.search as text; nullopt when the job ran no search (or it has not ended).
absl::StatusOr<std::optional<std::string>> GetJobSearch(Db& db, int64_t job_id);

}  // namespace qbench::store
