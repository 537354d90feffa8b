// The worker daemon's main loop: register this worker and its device, then repeat
//   ReapExpired (cheap; any number of workers and servers may run it)
//   ClaimJob -> run it (job_runner.h), or wait for a queue notification (at most
//   --poll-seconds) when nothing is claimable,
// heart-beating while idle so the worker shows online in the devices list. A lost
// database is waited out (the worker re-registers once it is back). `stop` (SIGTERM,
// SIGINT) drains the worker: it claims nothing more, and a running job is cancelled
// locally and handed back to the queue (its engine process is killed if it has not
// stopped within JobLimits::grace), then the loop ends.
#pragma once

#include <atomic>

#include "absl/status/status.h"
#include "worker/daemon/engine_process.h"
#include "worker/daemon/options.h"

namespace qbench::worker {

// Returns OK after --once, --max-jobs or `stop`; an error only for what retrying cannot
// fix (an invalid worker description, a database that rejects the queue's queries).
// `limits` says how each job runs: in an engine child process (limits.engine_binary set;
// what qbench-worker does) or on the daemon's thread.
absl::Status RunDaemon(const DaemonOptions& options, const JobLimits& limits, const std::atomic<bool>& stop);
// The engine in-process, default limits.
absl::Status RunDaemon(const DaemonOptions& options, const std::atomic<bool>& stop);

}  // namespace qbench::worker
