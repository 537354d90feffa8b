// Runs a device runner out of process (docs/devices.md): its own process group, stdin
// from /dev/null, a short list of environment variables (nothing secret reaches it), a
// wall-clock timeout after which the whole group gets SIGKILL, and bounded captures of
// stdout and stderr. A crashing or hanging runner therefore costs one run, never the
// worker.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace qbench::device {

struct ProcessResult {
  int exit_code = -1;     // the exit status, or -1 when a signal ended it
  int signal = 0;         // the signal that ended it (0: it exited)
  bool timed_out = false; // killed at the timeout
  bool stopped = false;   // killed because `stop` said so (the job is being cancelled)
  std::string out;        // stdout, at most max_stdout bytes (the rest is read and dropped)
  std::string err;        // the last max_stderr bytes of stderr
  double seconds = 0;
  bool ok() const { return exit_code == 0 && !timed_out && !stopped; }
  // "exited with status 3", "was killed by signal 11 (Segmentation fault)", "ran past its
  // 600 s timeout and was killed".
  std::string Describe(double timeout_s) const;
};

// The variables a runner sees, when the worker has them.
extern const char* const kRunnerEnvironment[];

// Errors only when the process cannot be started at all (a pipe or fork failed); a
// program that is missing shows as exit status 127. `stop`, when set, is polled every
// 100 ms while the process runs: true kills its group as the timeout does (a cancelled
// job does not wait for a runner that may take its whole timeout).
absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv, const std::string& cwd,
                                         double timeout_s, size_t max_stdout = 1 << 20,
                                         size_t max_stderr = 64 << 10, const std::function<bool()>& stop = nullptr);

}  // namespace qbench::device
