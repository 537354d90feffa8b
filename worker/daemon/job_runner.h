// Runs one claimed job to its end and records everything in the store: progress
// (throttled), each configuration's result rows, layer table, export and outcome as soon
// as the engine finishes it, then the environment and the final state. A LeaseKeeper
// renews the lease meanwhile; the engine polls for cancellation between batches. With
// JobLimits::engine_binary set, all of this runs in an engine child process
// (engine_process.h) and the daemon only supervises it.
//
// How a job ends:
//   engine succeeded                   -> SetJobEnvironment, CompleteJob   (kSucceeded)
//   user cancelled (seen on heartbeat) -> FinishCancelled                  (kCancelled)
//   the daemon is stopping (SIGTERM)   -> ReleaseJob: back to the queue     (kReleased)
//   engine error, bad input, OOM       -> FailJob with the message          (kFailed)
//   lease lost (FAILED_PRECONDITION)   -> stop quietly, write nothing more  (kLost)
//   database away past --db-retry-seconds -> give the job up; its lease expires and the
//                                         reaper retries it             (kAbandoned)
//   past max_job_seconds / --job-seconds -> the engine stops at its next check; FailJob
//                                         with the limit named                 (kFailed)
//   the engine process crashed or was killed (a signal, an unexpected exit)
//                                      -> RetryCrashedAttempt, by the parent: queued for
//                                         the next attempt (kReleased), or failed on the
//                                         last one, saying whether all crashed (kFailed)
//   the engine process did not stop a grace period after the time limit, or hit its
//   CPU-time limit                    -> FailJob with the reason, by the parent (kFailed)
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "server/store/db.h"
#include "server/store/queue.h"
#include "worker/daemon/asset_cache.h"
#include "worker/daemon/describe.h"
#include "worker/daemon/engine_process.h"
#include "worker/daemon/lease_keeper.h"
#include "worker/daemon/options.h"

namespace qbench::worker {

enum class JobEnd { kSucceeded, kFailed, kCancelled, kReleased, kLost, kAbandoned };
const char* JobEndName(JobEnd end);  // "succeeded", ...

struct RunnerContext {
  const DaemonOptions& options;
  const WorkerIdentity& worker;
  AssetCache& cache;
  const std::atomic<bool>& stop;  // set by SIGTERM/SIGINT: cancel locally, hand the job back
  const JobLimits& limits;
  // Called when the running configuration or its stage changes (the engine child reports
  // it to the parent, which names it when the child dies).
  std::function<void(const std::string& config, const std::string& stage)> on_stage = nullptr;
  // Called once the spec is parsed with the attempt's wall-clock limit (the lesser of the
  // spec's max_job_seconds and limits.wall).
  std::function<void(absl::Duration)> on_wall_limit = nullptr;
};

// Runs `job` with `db` (the daemon's connection): in an engine child process when
// ctx.limits.engine_binary is set, else on this thread.
JobEnd RunClaimedJob(const RunnerContext& ctx, store::Db& db, const store::ClaimedJob& job);

// The whole job on this thread, polling `flags` (raised by a LeaseKeeper or, in an
// engine child, by the parent).
JobEnd RunJobHere(const RunnerContext& ctx, store::Db& db, const store::ClaimedJob& job, JobFlags& flags);

// The job in an engine child process, supervised from here (engine_process.cc).
JobEnd RunJobInEngineProcess(const RunnerContext& ctx, store::Db& db, const store::ClaimedJob& job);

// An engine process that crashed (a signal, an unexpected exit): its status carries this
// payload, and the attempt is retried on the queue instead of failing the job at once
// (store::RetryCrashedAttempt: the last attempt fails it, saying whether all crashed).
inline constexpr char kEngineCrashPayload[] = "type.qbench.dev/engine-crash";
absl::Status EngineCrashError(const std::string& why);

// Records the end of a job whose run stopped without recording it (its engine process
// died): CANCELLED -> FinishCancelled when the user cancelled, else ReleaseJob; an engine
// crash (EngineCrashError) -> RetryCrashedAttempt; any other status -> FailJob with its
// message. Nothing is written once flags.lost is set.
// `start` is when the attempt began (for the log line).
JobEnd ConcludeJob(const RunnerContext& ctx, store::Db& db, const store::ClaimedJob& job, JobFlags& flags,
                   const absl::Status& status, absl::Time start);

}  // namespace qbench::worker
