// A child process for service tests: the real qbench-server, qbench-worker and qbench
// binaries, started with fork/exec (no shell), output appended to a log file, stopped
// with a signal of the test's choosing (SIGKILL to simulate a crash).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace qbench::testing {

class Subprocess {
 public:
  // argv[0] is a path. Output (stdout and stderr) goes to `log`.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(const std::vector<std::string>& argv,
                                                           const std::string& log);
  ~Subprocess();  // SIGTERM, then SIGKILL after 10 s, and reaps

  void Signal(int sig);
  // Waits for exit; returns the exit status (128 + signal for a signal).
  int Wait();
  bool Running();
  pid_t pid() const { return pid_; }

 private:
  explicit Subprocess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  bool reaped_ = false;
  int status_ = 0;
};

// Runs argv to completion; returns the exit status and fills `output` with stdout
// (stderr goes to `log` when given, else to the test's stderr).
int RunCommand(const std::vector<std::string>& argv, std::string* output, const std::string& log = "");

// A loopback TCP port nothing listens on now.
int FreeTcpPort();

// The whole file (empty when unreadable).
std::string ReadTextFile(const std::string& path);

}  // namespace qbench::testing
