// Crash isolation: each claimed job's engine work runs in a child process, the worker
// binary re-executed in its engine mode (`qbench-worker --engine-child`), under resource
// limits, so that a crash, an abort or running out of memory fails that job's attempt
// with a reason and the worker lives to claim the next job.
//
//   parent (the daemon)                         child (--engine-child)
//   claims the job, renews the lease            reads the job from stdin (one JSON line:
//   (LeaseKeeper), forwards "cancel", "stop",     lease, job, store and server connection)
//   "lost" lines on the child's stdin;          runs it exactly as in-process (job_runner.h):
//   reads "config/stage" lines from fd 3;         assets, engine, every store write with the
//   kills the child past --job-seconds or a       lease, and the final state; reports the
//   grace period after cancel/stop/lost;          running configuration on fd 3; exits with
//   when the child ended abnormally              10 + JobEnd
//   (a signal, an unknown exit code), records
//   the job's end itself (FailJob with the reason, FinishCancelled, ReleaseJob).
//
// The child gets SIGKILL when the parent dies (PR_SET_PDEATHSIG), so a worker killed with
// -9 leaves no engine running on its lease. Secrets (the database URI, the server token)
// travel on the pipe, never in argv or the environment.
//
// Limits of the child: RLIMIT_AS = 2 x the memory budget + 4 GiB (not under
// AddressSanitizer, whose shadow memory needs terabytes of address space), RLIMIT_CPU =
// cores x the wall-clock limit (+ 60 s), and the wall-clock limit itself, enforced by the
// parent. The memory budget also bounds every plan (SessionOptions::memory_budget_bytes).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/flags.h"

namespace qbench::worker {

struct JobLimits {
  // The executable started as `BINARY --engine-child` for each job ("/proc/self/exe" in
  // qbench-worker: the running binary, even when an upgrade replaced its file). Empty: run the engine in-process (embedders
  // and tests that run the daemon on a thread without isolation).
  std::string engine_binary;
  int64_t memory_bytes = 0;                 // the per-job budget; 0: half of physical memory
  absl::Duration wall = absl::Hours(6);     // the per-job wall-clock limit (attempt)
  absl::Duration grace = absl::Seconds(10); // after cancel/stop/lost, then SIGKILL
};

inline constexpr FlagSpec kEngineFlags[] = {
    {"--job-memory-mib", "N", "memory budget of one job's engine (plans + weights; default half of RAM)"},
    {"--job-seconds", "N", "wall-clock limit of one job attempt, then its engine is killed (default 21600)"},
};

// Reads --job-memory-mib and --job-seconds (other flags are ignored); INVALID_ARGUMENT
// naming the flag for a bad value. engine_binary is left empty.
absl::StatusOr<JobLimits> JobLimitsFromFlags(const std::vector<std::pair<std::string, std::string>>& flags);

// The argument that selects the engine mode; main() calls EngineChildMain when argv[1] is it.
inline constexpr char kEngineChildFlag[] = "--engine-child";
// Runs one job handed over on stdin and returns the process exit code (10 + JobEnd, or
// 2 when the hand-over itself was malformed).
int EngineChildMain();

// "signal 11 (SIGSEGV)"; for reasons and tests.
std::string DescribeSignal(int sig);

}  // namespace qbench::worker
