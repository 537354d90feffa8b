// The environment a result was measured in: versions, ISA, CPU, affinity, governor.
#include <sched.h>
#include <sys/resource.h>

#include <omp.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <dnnl.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/pipeline/pipeline.h"

#ifndef QB_GIT_REVISION
#define QB_GIT_REVISION "unknown"
#endif

namespace qbench {
namespace {

std::string CpuInfoField(const std::string& key) {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0 && line.find(':') != std::string::npos) return line.substr(line.find(':') + 2);
  return "unknown";
}

// The flags that decide which kernels oneDNN can use.
std::string RelevantFlags() {
  std::istringstream all(CpuInfoField("flags"));
  std::vector<std::string> keep;
  for (std::string f; all >> f;)
    if (f == "avx2" || f == "fma" || f.rfind("avx512", 0) == 0 || f.rfind("amx", 0) == 0 || f == "avx_vnni")
      keep.push_back(f);
  return absl::StrJoin(keep, " ");
}

std::string Affinity() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return "unknown";
  std::vector<std::string> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(std::to_string(c));
  return absl::StrJoin(cpus, ",");
}

std::string Governor() {
  std::ifstream f("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  std::string g;
  return f && std::getline(f, g) ? g : "unreadable";
}

}  // namespace

int64_t PeakRssBytes() {
  struct rusage u {};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<int64_t>(u.ru_maxrss) * 1024;  // Linux reports kilobytes
}

namespace {

// How the engine's OpenMP threads are bound to CPUs: the two variables that set it and the
// policy the runtime reports (unbound threads may migrate between cores mid-measurement).
std::string Pinning() {
  static constexpr const char* kBind[] = {"false", "true", "primary", "close", "spread"};
  const int bind = static_cast<int>(omp_get_proc_bind());
  const char* places = std::getenv("OMP_PLACES");
  const char* proc_bind = std::getenv("OMP_PROC_BIND");
  return absl::StrCat("OMP_PROC_BIND=", proc_bind ? proc_bind : "unset", ", OMP_PLACES=", places ? places : "unset",
                      ", effective binding ", bind >= 0 && bind < 5 ? kBind[bind] : "unknown",
                      bind == 0 ? " (threads not pinned)" : "");
}

}  // namespace

EnvironmentInfo DescribeEnvironment(int threads) {
  EnvironmentInfo e;
  e.qbench_version = "0.2.0";
  e.git_revision = QB_GIT_REVISION;
  const dnnl_version_t* v = dnnl::version();
  e.onednn_version = absl::StrCat(v->major, ".", v->minor, ".", v->patch, " (", v->hash, ")");
  static const std::pair<dnnl::cpu_isa, const char*> kIsa[] = {
      {dnnl::cpu_isa::avx512_core_amx, "avx512_core_amx"}, {dnnl::cpu_isa::avx512_core_bf16, "avx512_core_bf16"},
      {dnnl::cpu_isa::avx512_core_vnni, "avx512_core_vnni"}, {dnnl::cpu_isa::avx512_core, "avx512_core"},
      {dnnl::cpu_isa::avx2_vnni, "avx2_vnni"}, {dnnl::cpu_isa::avx2, "avx2"}, {dnnl::cpu_isa::sse41, "sse41"}};
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  e.onednn_isa = "other";
  for (const auto& [k, name] : kIsa)
    if (k == isa) e.onednn_isa = name;
  e.cpu_model = CpuInfoField("model name");
  e.cpu_flags = RelevantFlags();
  e.affinity = Affinity();
  e.pinning = Pinning();
  e.governor = Governor();
  e.compiler = absl::StrCat("gcc ", __VERSION__);
  e.threads = threads;
  e.cores = static_cast<int>(std::thread::hardware_concurrency());
  return e;
}

}  // namespace qbench
