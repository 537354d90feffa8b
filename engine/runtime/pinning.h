// Thread pinning for measurements: the engine's OpenMP threads bound one per CPU, so the
// scheduler cannot migrate them mid-run (a migration costs a cold L1/L2 and shows up as a
// latency outlier), and the result can say exactly where it ran.
//
// OMP_PROC_BIND/OMP_PLACES would do this too, but libgomp reads them once at start-up;
// a worker that runs many jobs needs it per job and undone afterwards. libgomp keeps its
// pool threads between parallel regions, so a mask set inside one region stays with the
// thread for the regions oneDNN opens later with the same team size.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <sched.h>

#include "absl/status/statusor.h"

namespace qbench {

class ThreadPinning {
 public:
  // Pins `threads` OpenMP threads (0: omp_get_max_threads(); the calling thread is
  // thread 0) to distinct CPUs of the process's affinity mask, one per physical core
  // first (SMT siblings only when cores run out). FAILED_PRECONDITION when the mask has
  // fewer CPUs than threads or the runtime gives a smaller team.
  static absl::StatusOr<std::unique_ptr<ThreadPinning>> Pin(int threads);
  // Gives every thread of the team the process's original mask back.
  ~ThreadPinning();

  const std::vector<int>& cpus() const { return cpus_; }  // thread i runs on cpus()[i]
  std::string Describe() const;                           // "pinned: thread 0 on CPU 0, ..."

  // The CPUs of `allowed` in the order Pin uses them: the first CPU of each physical core
  // (by package and core id, read from sysfs), then the remaining siblings.
  static std::vector<int> PreferredOrder(const cpu_set_t& allowed);

 private:
  ThreadPinning(std::vector<int> cpus, cpu_set_t original) : cpus_(std::move(cpus)), original_(original) {}
  std::vector<int> cpus_;
  cpu_set_t original_;
};

}  // namespace qbench
