// Attached devices (docs/devices.md): a device is an id, a class and a runner, a program
// that runs a model on input batches out of process and returns outputs and per-query
// timings. This file declares what a worker is told about its devices and turns it into
// the command line of the runner. Pure engine code: no gRPC, no SQL.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace qbench::device {

// One runner kind: the built-in programs live in the runners directory (worker/runners/).
struct RunnerDef {
  const char* name;           // "ort", "trtexec", "command"
  const char* default_class;  // the device class when the declaration gives none
  const char* interpreter;    // "node", "python3", or null for the lab's own command
  const char* program;        // the file in the runners directory (null: "command")
};
extern const RunnerDef kRunners[];
const RunnerDef* FindRunner(const std::string& name);

inline constexpr int kMaxDevices = 16;
inline constexpr int kMaxCommandArgs = 16;
inline constexpr size_t kMaxArgBytes = 1024;

struct DeviceDef {
  std::string id;            // [a-z0-9][a-z0-9_-]{0,31}
  std::string device_class;  // [a-z0-9][a-z0-9_-]{0,63}
  std::string runner;        // a kRunners name
  std::vector<std::string> command;  // "command" runners: program and first arguments
  int threads = 1;
  double timeout_s = 600;
  std::string provider = "cpu";  // "ort": cpu, cuda or tensorrt
};

// `--device ID=RUNNER[:COMMAND]`: COMMAND (for "command") is one program path, split on
// nothing (use a devices file for arguments).
absl::StatusOr<DeviceDef> ParseDeviceFlag(const std::string& value);
// A devices file: a JSON array of objects (docs/devices.md). `where` names the file in errors.
absl::StatusOr<std::vector<DeviceDef>> ParseDevicesJson(const nlohmann::json& j, const std::string& where);
absl::StatusOr<std::vector<DeviceDef>> ReadDevicesFile(const std::string& path);
// Checks the set: at most kMaxDevices, ids unique.
absl::Status CheckDevices(const std::vector<DeviceDef>& devices);

// The runner's argv without the request path: interpreter and program from
// `runners_dir` for built-in runners, the declared command otherwise.
std::vector<std::string> RunnerArgv(const DeviceDef& d, const std::string& runners_dir);

// Whether a job's selector (a device id or class) names this device.
inline bool Selects(const std::string& selector, const DeviceDef& d) {
  return selector == d.id || selector == d.device_class;
}

// A device as a worker found it at start: its declaration and the runner's own words
// (`--describe`, docs/devices.md).
struct Device {
  DeviceDef def;
  std::vector<std::string> argv;  // RunnerArgv
  std::string runtime, version;
  std::vector<std::string> providers, meters;
};

// Whether `s` is a device id (max 32) or class (max 64): [a-z0-9][a-z0-9_-]*.
bool IsDeviceToken(const std::string& s, size_t max_len);

}  // namespace qbench::device
