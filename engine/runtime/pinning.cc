#include "engine/runtime/pinning.h"

#include <omp.h>
#include <pthread.h>

#include <atomic>
#include <fstream>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"

namespace qbench {
namespace {

// sysfs topology of one CPU: (package, core); (-1, cpu) when unreadable, so each CPU
// then counts as its own core.
std::pair<int, int> CoreOf(int cpu) {
  const std::string dir = absl::StrCat("/sys/devices/system/cpu/cpu", cpu, "/topology/");
  int package = -1, core = -1;
  std::ifstream p(dir + "physical_package_id"), c(dir + "core_id");
  if (!(p >> package) || !(c >> core)) return {-1, cpu};
  return {package, core};
}

// Sets the calling thread's mask; false on failure.
bool SetMask(const cpu_set_t& set) { return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0; }

}  // namespace

std::vector<int> ThreadPinning::PreferredOrder(const cpu_set_t& allowed) {
  std::vector<int> first, siblings;
  std::set<std::pair<int, int>> seen;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    (seen.insert(CoreOf(cpu)).second ? first : siblings).push_back(cpu);
  }
  first.insert(first.end(), siblings.begin(), siblings.end());
  return first;
}

absl::StatusOr<std::unique_ptr<ThreadPinning>> ThreadPinning::Pin(int threads) {
  if (threads <= 0) threads = omp_get_max_threads();
  cpu_set_t original;
  if (sched_getaffinity(0, sizeof(original), &original) != 0)
    return absl::InternalError("thread pinning: sched_getaffinity failed");
  std::vector<int> order = PreferredOrder(original);
  if (static_cast<int>(order.size()) < threads)
    return absl::FailedPreconditionError(absl::StrCat("thread pinning: ", threads, " threads but the process may run on ",
                                                      order.size(), " CPUs"));
  order.resize(threads);
  std::atomic<int> team{0}, failed{0};
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    if (t == 0) team = omp_get_num_threads();
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(order[t], &one);
    if (!SetMask(one)) ++failed;
  }
  auto pinning = std::unique_ptr<ThreadPinning>(new ThreadPinning(order, original));
  if (failed > 0) return absl::InternalError("thread pinning: pthread_setaffinity_np failed");
  if (team != threads)
    return absl::FailedPreconditionError(
        absl::StrCat("thread pinning: asked OpenMP for ", threads, " threads, got a team of ", team.load()));
  return pinning;  // (on the error paths above the destructor already restored the masks)
}

ThreadPinning::~ThreadPinning() {
  const cpu_set_t original = original_;
#pragma omp parallel num_threads(static_cast<int>(cpus_.size()))
  SetMask(original);
}

std::string ThreadPinning::Describe() const {
  std::string out = "pinned by QBench:";
  for (size_t t = 0; t < cpus_.size(); ++t) absl::StrAppend(&out, t ? "," : "", " thread ", t, " on CPU ", cpus_[t]);
  return out;
}

}  // namespace qbench
