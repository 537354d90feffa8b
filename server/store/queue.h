// The job queue: workers claim queued jobs with FOR UPDATE SKIP LOCKED and hold them by a
// lease they renew with heartbeats. A job whose lease expires is taken back by ReapExpired
// and retried with exponential backoff, until max_attempts; then it fails, its error
// history kept in job_events. Every call that a worker makes on a claimed job carries its
// Lease (job, worker, attempt) and is refused with FAILED_PRECONDITION once the lease is
// lost, so a worker that was presumed dead cannot overwrite a later attempt's state.
// New and re-queued jobs NOTIFY channel kQueueChannel (a trigger, see 0001_init.sql).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/store/db.h"
#include "server/store/jobs.h"

namespace qbench::store {

inline constexpr char kQueueChannel[] = "qbench_jobs";  // payload: the job id

struct Lease {
  int64_t job_id = 0;
  std::string worker_id;
  int attempt = 0;  // 1-based; jobs.attempts when claimed
};

struct ClaimedJob {
  Lease lease;
  int64_t team_id = 0;
  std::string spec_json;
  std::vector<JobConfig> configs;  // in submission order
  std::string device_class;
  std::optional<std::string> device_name;
  int max_attempts = 0;
};

// Claims the oldest claimable job (queued, not_before passed) that targets one of the
// worker's device classes, or by name one of its devices, and whose spec's attached
// devices (jobs.devices, 0009) are all among `attached` (the ids and classes of the
// worker's attached devices; a job naming none needs none); sets it running with
// lease_until = now() + lease. Claiming attempt n > 1 deletes, in the same transaction,
// everything earlier attempts wrote (result and layer rows, exports, configuration
// outcomes, environment, evaluation record; events stay): only the attempt that runs
// last is ever visible. std::nullopt when nothing is claimable. INVALID_ARGUMENT
// for an empty worker id, a non-positive lease, or no devices at all.
absl::StatusOr<std::optional<ClaimedJob>> ClaimJob(Db& db, const std::string& worker_id,
                                                  const std::vector<std::string>& device_classes,
                                                  const std::vector<std::string>& device_names, absl::Duration lease,
                                                  const std::vector<std::string>& attached = {});

struct LeaseStatus {
  bool cancel_requested = false;  // the job is cancelling: stop, then call FinishCancelled
};

// Heartbeat: extends the lease to now() + lease and records the stage when given (a
// progress event on change). FAILED_PRECONDITION when the lease was lost.
absl::StatusOr<LeaseStatus> RenewLease(Db& db, const Lease& lease, absl::Duration duration,
                                       const std::optional<std::string>& stage = std::nullopt);

// running -> succeeded (cancelling -> cancelled: the results are kept but the user asked).
absl::Status CompleteJob(Db& db, const Lease& lease);
// -> failed with `reason` (a bad model, out of memory): not retried.
absl::Status FailJob(Db& db, const Lease& lease, const std::string& reason);
// cancelling -> cancelled after the worker stopped.
absl::Status FinishCancelled(Db& db, const Lease& lease);

// The attempt's engine crashed (a signal, an abort; the worker itself lives): running ->
// queued for another attempt, with a state event "engine crashed: <reason>", after a
// backoff of `retry_after`; on the job's last attempt -> failed, the error saying whether
// every attempt crashed its engine. A cancelling job becomes cancelled. Returns the new
// state ("queued", "failed" or "cancelled"); FAILED_PRECONDITION when the lease was lost.
absl::StatusOr<std::string> RetryCrashedAttempt(Db& db, const Lease& lease, const std::string& reason,
                                                absl::Duration retry_after = absl::Seconds(1));

// Hands a running job back when its worker shuts down (SIGTERM) mid-job: running ->
// queued at once (not_before = now(), lease cleared, NOTIFY via the requeue trigger),
// with a state event "released by worker shutdown". The attempt stays counted. A
// cancelling job becomes cancelled instead (the user wanted it stopped anyway).
// FAILED_PRECONDITION when the lease was lost.
absl::Status ReleaseJob(Db& db, const Lease& lease);

struct RetryPolicy {
  absl::Duration backoff_base = absl::Seconds(5);  // delay before attempt n+1: base * 2^(n-1)
  absl::Duration backoff_max = absl::Minutes(5);   // cap on that delay
  int batch = 1000;                                // most jobs handled per call
};

struct ReapReport {
  std::vector<int64_t> requeued;   // back to queued with not_before = now() + backoff
  std::vector<int64_t> failed;     // attempts exhausted
  std::vector<int64_t> cancelled;  // were cancelling: the user wanted them stopped anyway
};

// Takes back jobs whose lease expired (running or cancelling, lease_until < now()); each
// gets an "error" event naming the worker and attempt. Safe to run from several servers.
absl::StatusOr<ReapReport> ReapExpired(Db& db, const RetryPolicy& policy);

}  // namespace qbench::store
