// Runs one claimed job to its end and records everything in the store: progress
// (throttled), each configuration's result rows, layer table, export and outcome as soon
// as the engine finishes it, then the environment and the final state. A LeaseKeeper
// renews the lease meanwhile; the engine polls for cancellation between batches.
//
// How a job ends:
//   engine succeeded                   -> SetJobEnvironment, CompleteJob   (kSucceeded)
//   user cancelled (seen on heartbeat) -> FinishCancelled                  (kCancelled)
//   the daemon is stopping (SIGTERM)   -> ReleaseJob: back to the queue     (kReleased)
//   engine error, bad input, OOM       -> FailJob with the message          (kFailed)
//   lease lost (FAILED_PRECONDITION)   -> stop quietly, write nothing more  (kLost)
//   database away past --db-retry-seconds -> give the job up; its lease expires and the
//                                         reaper retries it             (kAbandoned)
#pragma once

#include <atomic>

#include "server/store/db.h"
#include "server/store/queue.h"
#include "worker/daemon/asset_cache.h"
#include "worker/daemon/describe.h"
#include "worker/daemon/options.h"

namespace qbench::worker {

enum class JobEnd { kSucceeded, kFailed, kCancelled, kReleased, kLost, kAbandoned };
const char* JobEndName(JobEnd end);  // "succeeded", ...

struct RunnerContext {
  const DaemonOptions& options;
  const WorkerIdentity& worker;
  AssetCache& cache;
  const std::atomic<bool>& stop;  // set by SIGTERM/SIGINT: cancel locally, hand the job back
};

// Runs `job` on this thread with `db` (the daemon's connection).
JobEnd RunClaimedJob(const RunnerContext& ctx, store::Db& db, const store::ClaimedJob& job);

}  // namespace qbench::worker
