// qbench-worker: the local mode runs one job spec without server or database and prints
// the results (a table, or JSON with --json); the daemon mode (--db) claims jobs from the
// QBench database and runs them until stopped (worker/daemon/daemon.h), each job's
// engine in a child process: this binary again, with --engine-child first
// (worker/daemon/engine_process.h).
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "common/flags.h"
#include "worker/daemon/daemon.h"
#include "worker/daemon/engine_process.h"
#include "worker/daemon/options.h"
#include "engine/device/protocol.h"
#include "engine/pipeline/pipeline.h"

namespace {

// One table per mode drives both parsing and --help.
constexpr qbench::FlagSpec kLocalFlags[] = {
    {"--local", "SPEC", "run the job spec SPEC (JSON) here, without server or database"},
    {"--json", nullptr, "print results as JSON instead of a table"},
    {"--out", "FILE", "also write the JSON results to FILE"},
    {"--device", "ID=RUNNER[:PROGRAM]", "attach a device: ort, trtexec or command:PROGRAM (docs/devices.md; repeatable)"},
    {"--devices", "FILE", "attach the devices a JSON file declares (docs/devices.md)"},
    {"--runners-dir", "DIR", "where the built-in runners are (default $QB_RUNNERS_DIR or the source tree's)"},
    {"--help", nullptr, "show this help"},
};

std::vector<qbench::FlagSpec> AllFlags() {
  std::vector<qbench::FlagSpec> all(std::begin(kLocalFlags), std::end(kLocalFlags));
  all.insert(all.end(), std::begin(qbench::worker::kDaemonFlags), std::end(qbench::worker::kDaemonFlags));
  all.insert(all.end(), std::begin(qbench::worker::kEngineFlags), std::end(qbench::worker::kEngineFlags));
  return all;
}

void Usage(FILE* f) {
  std::fprintf(f,
               "usage: qbench-worker --local SPEC [--json] [--out FILE] [--device ID=RUNNER]... [--devices FILE]\n"
               "       qbench-worker --db URI [--server HOST:PORT (--insecure | --ca FILE)] [--token-file FILE]\n"
               "                     [--device ID=RUNNER]... [--devices FILE] [--runners-dir DIR]\n"
               "                     [--id ID] [--cache-dir DIR] [--lease-seconds 30] [--poll-seconds 5]\n"
               "                     [--db-retry-seconds 120] [--once] [--max-jobs N]\n"
               "                     [--job-memory-mib N] [--job-seconds 21600] [--shared-root DIR]...\n"
               "                     [--job-limit NAME=N]...\n\n");
  std::fputs(qbench::FlagHelp(AllFlags()).c_str(), f);
}

std::atomic<bool> g_stop{false};
extern "C" void OnSignal(int) { g_stop.store(true); }  // lock-free atomic: async-signal-safe

int RunDaemonMode(const std::vector<std::pair<std::string, std::string>>& flags,
                  const std::vector<qbench::device::DeviceDef>& device_defs, const std::string& runners_dir) {
  auto options = qbench::worker::DaemonOptionsFromFlags(flags);
  if (!options.ok()) {
    std::fprintf(stderr, "qbench-worker: %s\n", std::string(options.status().message()).c_str());
    return 2;
  }
  // Runners describe themselves once, at start; a device that cannot stops the worker
  // here rather than failing every job routed to it.
  auto devices = qbench::device::AttachDevices(device_defs, runners_dir);
  if (!devices.ok()) {
    std::fprintf(stderr, "qbench-worker: %s\n", std::string(devices.status().message()).c_str());
    return 2;
  }
  options->devices = std::move(*devices);
  auto limits = qbench::worker::JobLimitsFromFlags(flags);
  if (!limits.ok()) {
    std::fprintf(stderr, "qbench-worker: %s\n", std::string(limits.status().message()).c_str());
    return 2;
  }
  // This very binary (the running inode, even when an upgrade replaced the file).
  limits->engine_binary = "/proc/self/exe";
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  const absl::Status s = qbench::worker::RunDaemon(*options, *limits, g_stop);
  if (!s.ok()) {
    std::fprintf(stderr, "qbench-worker: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], qbench::worker::kEngineChildFlag) == 0) {
    // One job for the daemon that started us; _Exit skips static destructors (oneDNN's
    // and OpenMP's teardown) that could only turn a recorded result into a crash.
    const int code = qbench::worker::EngineChildMain();
    std::fflush(nullptr);
    std::_Exit(code);
  }
  std::string spec_path, out_path, runners_dir = qbench::device::DefaultRunnersDir();
  std::vector<qbench::device::DeviceDef> device_defs;
  bool json = false, daemon = false;
  const std::vector<qbench::FlagSpec> table = AllFlags();
  auto flags = qbench::ParseFlags(argc, argv, table);
  if (!flags.ok()) {
    std::fprintf(stderr, "qbench-worker: %s\n", std::string(flags.status().message()).c_str());
    Usage(stderr);
    return 2;
  }
  for (const auto& [a, v] : *flags) {
    if (a == "--local") spec_path = v;
    else if (a == "--out") out_path = v;
    else if (a == "--json") json = true;
    else if (a == "--db") daemon = true;
    else if (a == "--runners-dir") runners_dir = v;
    else if (a == "--device" || a == "--devices") {
      absl::StatusOr<std::vector<qbench::device::DeviceDef>> d;
      if (a == "--devices") d = qbench::device::ReadDevicesFile(v);
      else if (auto one = qbench::device::ParseDeviceFlag(v); one.ok()) d = std::vector{*one};
      else d = one.status();
      if (!d.ok()) {
        std::fprintf(stderr, "qbench-worker: %s\n", std::string(d.status().message()).c_str());
        return 2;
      }
      device_defs.insert(device_defs.end(), d->begin(), d->end());
    } else if (a == "--help") {
      Usage(stdout);
      return 0;
    }
  }
  if (daemon && !spec_path.empty()) {
    std::fprintf(stderr, "qbench-worker: --local and --db exclude each other\n");
    return 2;
  }
  if (daemon) return RunDaemonMode(*flags, device_defs, runners_dir);
  for (const auto& [a, v] : *flags) {
    for (const qbench::FlagSpec& f : qbench::worker::kDaemonFlags)
      if (a == f.name) {
        std::fprintf(stderr, "qbench-worker: %s is a daemon flag and needs --db\n", a.c_str());
        return 2;
      }
    for (const qbench::FlagSpec& f : qbench::worker::kEngineFlags)
      if (a == f.name) {
        std::fprintf(stderr, "qbench-worker: %s is a daemon flag and needs --db\n", a.c_str());
        return 2;
      }
  }
  if (spec_path.empty()) {
    Usage(stderr);
    return 2;
  }
  auto spec = qbench::LoadJobSpec(spec_path);
  if (!spec.ok()) {
    std::fprintf(stderr, "qbench-worker: %s\n", std::string(spec.status().message()).c_str());
    return 2;
  }
  auto devices = qbench::device::AttachDevices(device_defs, runners_dir);
  if (!devices.ok()) {
    std::fprintf(stderr, "qbench-worker: %s\n", std::string(devices.status().message()).c_str());
    return 2;
  }
  auto result = qbench::RunJob(*spec, {}, *devices);
  if (!result.ok()) {
    std::fprintf(stderr, "qbench-worker: %s\n", std::string(result.status().message()).c_str());
    return 1;
  }
  // A failed device's runner stderr is for whoever runs the worker (never in results).
  for (const qbench::ConfigResult& c : result->configs)
    for (const qbench::DeviceResult& d : c.devices)
      if (!d.error.empty() && !d.log.empty())
        std::fprintf(stderr, "qbench-worker: %s on %s: the runner's stderr ends:\n%s\n", c.config.name.c_str(),
                     d.id.c_str(), d.log.substr(d.log.size() > 4000 ? d.log.size() - 4000 : 0).c_str());
  const nlohmann::json j = qbench::ToJson(*result);
  if (!out_path.empty()) std::ofstream(out_path) << j.dump(2) << "\n";
  if (json) std::cout << j.dump(2) << "\n";
  else std::cout << qbench::ToTable(*result);
  return 0;
}
