// Attached devices through the service (issue 16, docs/devices.md): a worker started with
// --device claims the jobs whose spec names its devices (and only such a worker does),
// measures every configuration on oneDNN and on each device, and the store, GetResults,
// `qbench compare`, `qbench devices` and the dashboards' view carry one row per device.
// Real parts: PostgreSQL, qbench-server, qbench-worker with ONNX Runtime (npm
// onnxruntime-node, worker/runners) and a runner that crashes, and the qbench CLI.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "tests/service_fixture.h"

namespace qbench::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class DeviceServiceTest : public ServiceFixture {
 protected:
  // A command runner that describes itself, then dies of SIGSEGV on every request.
  std::string CrashingRunner() {
    const std::string path = lab_->dir() + "/crash-runner.sh";
    std::ofstream(path) << "#!/bin/sh\nif [ \"$1\" = --describe ]; then echo '{\"runtime\": \"crashy\", "
                           "\"version\": \"1\"}'; exit 0; fi\necho 'out of device memory' > error.txt\nkill -SEGV $$\n";
    fs::permissions(path, fs::perms::owner_all);
    return path;
  }

  std::string Spec(const std::vector<std::string>& configs, int samples, const std::vector<std::string>& devices) {
    nlohmann::json spec = nlohmann::json::parse(SmallSpec(configs, samples, {1, 16}));
    spec["devices"] = devices;
    return spec.dump();
  }

  v1::Job Wait(const v1::Job& job) {
    auto done = lab_->WaitForEnd(lab_->token("acme"), job.name(), absl::Seconds(240));
    EXPECT_TRUE(done.ok()) << done.status();
    return done.ok() ? *done : v1::Job();
  }

  // The job's results by (config, short device id).
  std::map<std::pair<std::string, std::string>, v1::ConfigResult> ByDevice(const std::string& name) {
    std::map<std::pair<std::string, std::string>, v1::ConfigResult> out;
    const v1::JobResults results = Results("acme", name);
    for (const v1::ConfigResult& c : results.configs())
      out[{c.config(), c.device().substr(c.device().rfind('/') + 1)}] = c;
    return out;
  }
};

// The acceptance run: fp32 and w8a8 on oneDNN, ONNX Runtime and a crashing runner, one
// job, one worker. A worker without those devices never claims it.
TEST_F(DeviceServiceTest, OneJobOnOneDnnAndOnnxRuntimeWithACrashingRunner) {
  StartWorker("plain");
  const v1::Job job = Create("acme", Spec({"fp32", "w8a8"}, 200, {"ort-cpu", "broken"}));
  // The plain worker serves a job that names no device, and leaves the device job queued.
  const v1::Job plain = Wait(Create("acme", Spec({"fp32"}, 64, {})));
  EXPECT_EQ(plain.state(), v1::SUCCEEDED) << plain.failure_reason();
  {
    v1::GetJobRequest g;
    g.set_name(job.name());
    v1::Job now;
    auto ctx = Lab::Context(lab_->token("acme"));
    ASSERT_TRUE(lab_->jobs().GetJob(ctx.get(), g, &now).ok());
    EXPECT_EQ(now.state(), v1::QUEUED) << "claimed by a worker without its devices";
  }
  // qbench submit says when no online worker can claim such a job.
  const std::string spec_path = lab_->dir() + "/needs-ort.json";
  std::ofstream(spec_path) << Spec({"fp32"}, 64, {"ort-cpu"});
  ASSERT_EQ(Cli("acme", {"submit", spec_path}), 0) << ReadTextFile(lab_->dir() + "/cli.log");
  EXPECT_THAT(ReadTextFile(lab_->dir() + "/cli.log"),
              HasSubstr("warning: no online worker has all of the devices ort-cpu; the job stays queued"));

  StartWorker("w1", {"--device", "ort-cpu=ort", "--device", "broken=command:" + CrashingRunner()});
  const v1::Job done = Wait(job);
  ASSERT_EQ(done.state(), v1::SUCCEEDED) << "a failing device fails its rows, not the job: " << done.failure_reason();

  auto rows = ByDevice(job.name());
  ASSERT_EQ(rows.size(), 6u) << "2 configurations x (cpu0, ort-cpu, broken)";
  for (const std::string config : {"fp32", "w8a8"}) {
    SCOPED_TRACE(config);
    const v1::ConfigResult& engine = rows.at({config, "cpu0"});
    const v1::ConfigResult& ort = rows.at({config, "ort-cpu"});
    const v1::ConfigResult& broken = rows.at({config, "broken"});
    EXPECT_EQ(engine.device(), "workers/w1/devices/cpu0");
    EXPECT_FALSE(engine.has_device_run());
    EXPECT_EQ(ort.device(), "workers/w1/devices/ort-cpu");
    // ONNX Runtime: its own figures on the same 200 test samples, the runtime recorded.
    ASSERT_EQ(ort.error(), "");
    ASSERT_TRUE(ort.has_device_run());
    EXPECT_EQ(ort.device_run().runner(), "ort");
    EXPECT_EQ(ort.device_run().runtime(), "onnxruntime-node");
    EXPECT_FALSE(ort.device_run().runtime_version().empty());
    EXPECT_EQ(ort.device_run().provider(), "cpu");
    EXPECT_EQ(ort.samples(), 200);
    EXPECT_EQ(ort.is_baseline(), config == "fp32");
    // Top-1 can differ from the engine's by no more than the samples whose top-1 differs.
    const int64_t differs = ort.device_run().differs_from_engine();
    EXPECT_GE(differs, 0);
    EXPECT_LE(std::abs(ort.top1() - engine.top1()) * 200, differs + 1e-9);
    EXPECT_LE(differs, 10) << "QDQ tolerance: ONNX Runtime runs the same integer model";
    EXPECT_EQ(ort.top1_hits(), static_cast<int64_t>(std::lround(ort.top1() * 200)));
    // The paired delta is against ONNX Runtime's own FP32 run.
    EXPECT_EQ(ort.has_vs_fp32(), config != "fp32");
    if (ort.has_vs_fp32()) {
      EXPECT_LE(ort.vs_fp32().ci_low(), ort.vs_fp32().delta());
      EXPECT_GE(ort.vs_fp32().ci_high(), ort.vs_fp32().delta());
      EXPECT_NEAR(ort.vs_fp32().delta(), ort.top1() - rows.at({"fp32", "ort-cpu"}).top1(), 1e-12);
    }
    // Latency per batch size with its interval, and the ratio to the device's FP32.
    ASSERT_EQ(ort.latency_size(), 2);
    for (const v1::BatchLatency& l : ort.latency()) {
      EXPECT_GT(l.p50_ms(), 0);
      EXPECT_LE(l.median_ci_low_ms(), l.p50_ms());
      EXPECT_GE(l.median_ci_high_ms(), l.p50_ms());
      EXPECT_GE(l.iterations(), 5);
      EXPECT_GT(l.ratio_to_fp32(), 0);
    }
    EXPECT_EQ(ort.model_size_bytes(), engine.model_size_bytes());
    // The crashing runner: this configuration failed there, saying where and why; no
    // figures, no worker path.
    EXPECT_THAT(broken.error(), HasSubstr("device broken (command): the runner was killed by signal 11"));
    EXPECT_THAT(broken.error(), HasSubstr("out of device memory"));
    EXPECT_THAT(broken.error(), ::testing::Not(HasSubstr(lab_->dir())));
    EXPECT_EQ(broken.latency_size(), 0);
    EXPECT_EQ(broken.top1(), 0);
  }

  // compare puts the devices side by side, with the samples that differ.
  std::string out;
  ASSERT_EQ(Cli("acme", {"compare", job.name()}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("DEVICE"));
  EXPECT_THAT(out, HasSubstr("DIFFERS"));
  EXPECT_THAT(out, HasSubstr("ort-cpu"));
  EXPECT_THAT(out, HasSubstr("error: device broken (command)"));
  ASSERT_EQ(Cli("acme", {"compare", job.name(), "--format", "json"}, &out), 0) << out;
  const nlohmann::json compared = nlohmann::json::parse(out, nullptr, false);
  ASSERT_TRUE(compared.is_array()) << out;
  int ort_rows = 0;
  for (const auto& r : compared)
    if (r["device"] == "workers/w1/devices/ort-cpu") {
      ++ort_rows;
      EXPECT_EQ(r["runtime"], "onnxruntime-node");
      EXPECT_TRUE(r["differs_from_engine"].is_number_integer());
    }
  EXPECT_EQ(ort_rows, 4) << "2 configurations x 2 batch sizes";

  // qbench devices: the runner and the runtime the worker found.
  ASSERT_EQ(Cli("acme", {"devices"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("workers/w1/devices/ort-cpu"));
  EXPECT_THAT(out, HasSubstr("onnxruntime-node"));
  EXPECT_THAT(out, HasSubstr("workers/w1/devices/broken"));

  // The dashboards' view: one row per (configuration, device, batch size), the crash one
  // row per configuration with its error; the engine's p50 beside the device's.
  pqxx::connection c{lab_->pg().Uri()};
  pqxx::work tx{c};
  const int64_t id = std::stoll(job.name().substr(job.name().find('/') + 1));
  auto r = tx.exec_params(
      "SELECT count(*) FILTER (WHERE device LIKE '%/ort-cpu' AND latency_vs_engine > 0), "
      "       count(*) FILTER (WHERE device LIKE '%/broken' AND error IS NOT NULL AND batch_size IS NULL) "
      "FROM device_comparison WHERE job_id = $1",
      id);
  EXPECT_EQ(r[0][0].as<int>(), 4);
  EXPECT_EQ(r[0][1].as<int>(), 2);
  // config_comparison shows the device's own top-1 and delta on its rows, not the engine's.
  auto cmp = tx.exec_params(
      "SELECT top1, top1_delta, runtime, differs_from_engine FROM config_comparison "
      "WHERE job_id = $1 AND config = 'w8a8' AND device LIKE '%/ort-cpu' AND batch_size = 16",
      id);
  ASSERT_EQ(cmp.size(), 1u);
  const v1::ConfigResult& ort8 = rows.at({"w8a8", "ort-cpu"});
  EXPECT_EQ(cmp[0][0].as<double>(), ort8.top1());
  EXPECT_EQ(cmp[0][1].as<double>(), ort8.vs_fp32().delta());
  EXPECT_EQ(cmp[0][2].as<std::string>(), "onnxruntime-node");
  EXPECT_EQ(cmp[0][3].as<int64_t>(), ort8.device_run().differs_from_engine());

  // The worker serves the next job; only it has the device, so it is the one that runs it.
  const v1::Job next = Wait(Create("acme", Spec({"fp32"}, 64, {"ort-cpu"})));
  EXPECT_EQ(next.state(), v1::SUCCEEDED) << next.failure_reason();
  EXPECT_EQ(ByDevice(next.name()).count({"fp32", "ort-cpu"}), 1u);
}

}  // namespace
}  // namespace qbench::testing
