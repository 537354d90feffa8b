// Attached devices end to end in the engine (docs/devices.md): a job runs its
// configurations on the engine and on devices whose runners are real programs: the
// project's own qbench-run behind the documented command protocol, ONNX Runtime, and
// runners that crash, hang or write malformed results. The figures of a working device
// are the engine's way of scoring its outputs; a failing device fails that configuration
// on that device only, with a reason naming it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "engine/device/protocol.h"
#include "engine/pipeline/pipeline.h"
#include "spec/job_spec.h"
#include "tests/test_paths.h"

namespace qbench {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string Fashion(const std::string& file) { return testing::SourceDir() + "/models/fashion_mnist/" + file; }

JobSpec SmallJob(std::vector<std::string> devices) {
  JobSpec spec;
  spec.model = Fashion("cnn_bn.onnx");
  spec.eval_dataset = Fashion("dataset.json");
  spec.samples = 200;  // 3 full batches of 64 and a short one
  spec.calibration_dataset = Fashion("train_dataset.json");
  spec.calibration_samples = 128;
  spec.batch_sizes = {1, 16};
  spec.latency = {1, 0, 5, 0, 20};
  spec.sqnr_samples = 0;
  spec.sensitivity = false;
  spec.profile_iters = 0;
  spec.configs = {*quant::ConfigFromShortName("fp32"), *quant::ConfigFromShortName("w8a8")};
  spec.devices = std::move(devices);
  return spec;
}

// A runner script in a fresh directory: `body` runs for requests; --describe answers.
std::string Script(const std::string& name, const std::string& body) {
  const fs::path dir = fs::temp_directory_path() / ("qb-device-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path p = dir / name;
  std::ofstream(p) << "#!/bin/sh\nif [ \"$1\" = --describe ]; then echo '{\"runtime\": \"" << name
                   << "\", \"version\": \"0\"}'; exit 0; fi\n"
                   << body << "\n";
  fs::permissions(p, fs::perms::owner_all);
  return p.string();
}

device::Device Attach(const std::string& flag, double timeout_s = 600) {
  auto def = device::ParseDeviceFlag(flag);
  EXPECT_TRUE(def.ok()) << def.status();
  def->timeout_s = timeout_s;
  auto d = device::AttachDevices({*def}, device::DefaultRunnersDir());
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? (*d)[0] : device::Device{};
}

// The project's own engine as a lab device: qbench-run (built beside the tests) behind
// the command protocol (tests/runners/qbench_run_device.py).
device::Device QbenchRunDevice() {
  const fs::path build = fs::read_symlink("/proc/self/exe").parent_path().parent_path();
  ::setenv("QBENCH_RUN", (build / "bench" / "qbench-run").c_str(), 1);
  return Attach("qbrun=command:" + testing::SourceDir() + "/tests/runners/qbench_run_device.py");
}

const DeviceResult& On(const ConfigResult& c, const std::string& id) {
  for (const DeviceResult& d : c.devices)
    if (d.id == id) return d;
  ADD_FAILURE() << c.config.name << " has no result for device " << id;
  static const DeviceResult none;
  return none;
}

TEST(DeviceJobTest, TheCommandProtocolRunsEveryConfigurationAndIsScoredLikeTheEngine) {
  const std::vector<device::Device> devices = {QbenchRunDevice()};
  auto r = RunJob(SmallJob({"qbrun"}), {}, devices);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->configs.size(), 2u);
  for (const ConfigResult& c : r->configs) {
    ASSERT_TRUE(c.error.empty()) << c.error;
    const DeviceResult& d = On(c, "qbrun");
    ASSERT_TRUE(d.error.empty()) << c.config.name << ": " << d.error << "\n" << d.log;
    EXPECT_EQ(d.accuracy.samples, 200);
    EXPECT_EQ(d.accuracy.correct.size(), 200u);
    ASSERT_EQ(d.latency.size(), 2u);
    EXPECT_EQ(d.latency[0].batch_size, 1);
    EXPECT_EQ(d.latency[1].batch_size, 16);
    for (const BatchLatency& b : d.latency) {
      EXPECT_GE(b.stats.count, 5);
      EXPECT_LE(b.stats.count, 20);
      EXPECT_GT(b.stats.median_ms, 0);
      EXPECT_LE(b.stats.median_ci_low_ms, b.stats.median_ms);
      EXPECT_GE(b.stats.median_ci_high_ms, b.stats.median_ms);
    }
  }
  // The FP32 model is the same file run by the same engine: identical scores.
  const DeviceResult& fp32 = On(r->configs[0], "qbrun");
  EXPECT_EQ(fp32.differs_from_engine, 0);
  EXPECT_EQ(fp32.accuracy.top1_hits, r->configs[0].accuracy.top1_hits);
  EXPECT_FALSE(fp32.accuracy.vs_fp32.has_value()) << "the device's FP32 run is its baseline";
  // The QDQ export, run in float by qbench-run, against the engine's int8 kernels: its
  // delta is paired with the device's own FP32 run, and it may differ from the engine
  // on a few samples only (QDQ rounding in float vs integer arithmetic).
  const DeviceResult& w8 = On(r->configs[1], "qbrun");
  ASSERT_TRUE(w8.accuracy.vs_fp32.has_value());
  EXPECT_EQ(w8.accuracy.vs_fp32->base_only + w8.accuracy.vs_fp32->both_right,
            fp32.accuracy.top1_hits) << "paired against the device's FP32 run";
  EXPECT_LE(w8.differs_from_engine, 4) << "of 200";
  const nlohmann::json j = ToJson(*r);
  EXPECT_EQ(j["configs"][1]["devices"][0]["device"], "qbrun");
  EXPECT_THAT(ToTable(*r), HasSubstr("on qbrun"));
}

TEST(DeviceJobTest, ACrashingHangingOrMalformedRunnerFailsOnlyItsDevice) {
  const std::vector<device::Device> devices = {
      Attach("crash=command:" + Script("crash", "echo 'out of device memory' > error.txt; kill -SEGV $$")),
      Attach("hang=command:" + Script("hang", "sleep 60"), 2),
      Attach("junk=command:" + Script("junk", "echo '{\"timings\": 5}' > result.json")),
      Attach("nooutput=command:" + Script("nooutput",
                                          "echo '{\"timings\": [{\"batch_size\": 1, \"ms\": [1]}, "
                                          "{\"batch_size\": 16, \"ms\": [2]}]}' > result.json")),
      QbenchRunDevice()};
  const auto t0 = std::chrono::steady_clock::now();
  auto r = RunJob(SmallJob({"crash", "hang", "junk", "nooutput", "qbrun"}), {}, devices);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 120);
  for (const ConfigResult& c : r->configs) {
    ASSERT_TRUE(c.error.empty()) << c.error;
    EXPECT_GT(c.accuracy.top1, 0.5) << "the engine's own figures are unaffected";
    ASSERT_EQ(c.devices.size(), 5u);
    EXPECT_THAT(On(c, "crash").error, HasSubstr("device crash (command): the runner was killed by signal 11"));
    EXPECT_THAT(On(c, "crash").error, HasSubstr("out of device memory"));
    EXPECT_THAT(On(c, "hang").error, HasSubstr("device hang (command): the runner ran past its 2 s timeout"));
    EXPECT_THAT(On(c, "junk").error, HasSubstr("device junk (command): malformed result.json"));
    EXPECT_THAT(On(c, "nooutput").error, HasSubstr("malformed output: out/000000.npy is missing"));
    for (const char* id : {"crash", "hang", "junk", "nooutput"})
      EXPECT_EQ(On(c, id).error.find("/tmp"), std::string::npos) << "no worker paths reach users";
    EXPECT_TRUE(On(c, "qbrun").error.empty()) << On(c, "qbrun").error;
  }
}

// Cancelling a job while a runner works on it (a long TensorRT engine build, a hung
// board) stops it at once: the runner's whole process group is killed and the job ends
// CANCELLED, instead of waiting for the runner's timeout.
TEST(DeviceJobTest, CancellingTheJobStopsARunningRunnerAtOnce) {
  const fs::path marks = fs::temp_directory_path() / ("qb-device-cancel-" + std::to_string(::getpid()));
  fs::create_directories(marks);
  const std::string started = (marks / "started").string(), pid_file = (marks / "pid").string();
  const device::Device slow = Attach(
      "slow=command:" + Script("slow", "echo $$ > " + pid_file + "; touch " + started + "; exec sleep 60"), 30);
  JobSpec spec = SmallJob({"slow"});
  spec.configs.resize(1);  // fp32
  RunHooks hooks;
  std::chrono::steady_clock::time_point seen{};
  hooks.cancelled = [&] {
    if (!fs::exists(started)) return false;
    if (seen == std::chrono::steady_clock::time_point{}) seen = std::chrono::steady_clock::now();
    return true;
  };
  auto r = RunJob(spec, hooks, {slow});
  const double after = std::chrono::duration<double>(std::chrono::steady_clock::now() - seen).count();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsCancelled(r.status())) << r.status();
  EXPECT_LT(after, 5) << "stopped within a poll of the cancellation, not at the 30 s timeout";
  std::ifstream in(pid_file);
  pid_t pid = 0;
  ASSERT_TRUE(in >> pid);
  EXPECT_NE(::kill(pid, 0), 0) << "the runner's process is gone";
  fs::remove_all(marks);
}

TEST(DeviceJobTest, ASelectorNoDeviceMatchesFailsTheJobNamingIt) {
  auto r = RunJob(SmallJob({"gpu-trt"}), {}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("device \"gpu-trt\" is not attached to this worker"));
}

TEST(DeviceJobTest, OnnxRuntimeAgreesWithTheEngineOnEveryConfiguration) {
  const std::vector<device::Device> devices = {Attach("ort-cpu=ort")};
  ASSERT_FALSE(devices[0].def.id.empty()) << "the ONNX Runtime runner needs node and worker/runners/node_modules "
                                             "(tools/install-deps.sh installs them)";
  EXPECT_EQ(devices[0].runtime, "onnxruntime-node");
  auto r = RunJob(SmallJob({"cpu-ort"}), {}, devices);  // by class
  ASSERT_TRUE(r.ok()) << r.status();
  for (const ConfigResult& c : r->configs) {
    const DeviceResult& d = On(c, "ort-cpu");
    ASSERT_TRUE(d.error.empty()) << c.config.name << ": " << d.error << "\n" << d.log;
    EXPECT_EQ(d.runtime, "onnxruntime-node");
    EXPECT_THAT(d.version, ::testing::StartsWith("1.20"));
    EXPECT_EQ(d.latency.size(), 2u);
    EXPECT_LE(d.differs_from_engine, c.config.precision == quant::Precision::kFp32 ? 0 : 4)
        << c.config.name << ": top-1 of 200 samples";
  }
}

}  // namespace
}  // namespace qbench
