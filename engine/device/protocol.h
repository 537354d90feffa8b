// The runner protocol's documents (docs/devices.md): the request the worker writes, the
// result a runner writes back, and a runner's --describe line. What a runner writes is
// outside input: it is parsed with limits, and anything unexpected is an error that says
// what was wrong, never a crash.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "engine/device/device.h"

namespace qbench::device {

inline constexpr int kProtocolVersion = 1;
inline constexpr size_t kMaxResultBytes = size_t{4} << 20;
inline constexpr size_t kMaxNotes = 16, kMaxNoteBytes = 300, kMaxWordBytes = 64;

struct EvalBatch {
  std::string input, output;  // relative to the work directory
};

struct TimingRequest {
  int64_t batch_size = 1;
  std::string input;
  int64_t warmup_runs = 0;
  double warmup_seconds = 0;
  int64_t min_runs = 1, max_runs = 1;
  double min_seconds = 0;
};

struct RunnerRequest {
  std::string model = "model.onnx";
  std::string input_name;
  std::vector<EvalBatch> eval;
  std::vector<TimingRequest> timing;
};

nlohmann::json RequestJson(const DeviceDef& device, const RunnerRequest& request);

struct RunnerTiming {
  int64_t batch_size = 0;
  std::vector<double> ms;           // per run, milliseconds, in run order
  std::optional<double> energy_j;   // the device's meter over the timed runs
  std::string energy_meter;
};

struct RunnerResult {
  std::string runtime, version, provider;
  std::vector<RunnerTiming> timings;  // in the request's order
  std::vector<std::string> notes;
};

// result.json, checked against the request: one timing entry per requested batch size,
// between 1 and max_runs positive finite times each.
absl::StatusOr<RunnerResult> ParseRunnerResult(std::string_view text, const RunnerRequest& request);

struct RunnerDescription {
  std::string runtime, version;
  std::vector<std::string> providers, meters;
};
// The --describe line (the first line of stdout that parses).
absl::StatusOr<RunnerDescription> ParseDescription(std::string_view text);

// Printable ASCII only, at most `max` bytes (for words a runner writes that users see).
std::string CleanWord(std::string_view s, size_t max);

}  // namespace qbench::device

namespace qbench::device {

// The runners directory built-in runners come from: $QB_RUNNERS_DIR, else the source
// tree's worker/runners (set at build time).
std::string DefaultRunnersDir();

// Resolves each declaration's command line and asks its runner to describe itself
// (`--describe`, within 60 s). An error names the device that cannot.
absl::StatusOr<std::vector<Device>> AttachDevices(const std::vector<DeviceDef>& defs, const std::string& runners_dir);

// A worker's attached devices as JSON and back: the daemon hands them to each job's
// engine process this way (its runners are not asked to describe themselves again).
// The declaration's fields as in a devices file, plus "argv", "runtime", "version",
// "providers" and "meters".
nlohmann::json AttachedJson(const std::vector<Device>& devices);
absl::StatusOr<std::vector<Device>> AttachedFromJson(const nlohmann::json& j);

// What a device list shows everyone (the store's devices.attributes): runner, class,
// provider, threads, what the runner said of itself. No command line: it may name paths
// of the worker's machine.
nlohmann::json PublicAttributes(const Device& d);

}  // namespace qbench::device
