// Device declarations, the runner protocol's documents and the out-of-process runs.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "engine/device/device.h"
#include "engine/device/process.h"
#include "engine/device/protocol.h"

namespace qbench::device {
namespace {

using nlohmann::json;

TEST(DeviceDefTest, FlagsNameARunnerAndTheClassFollowsIt) {
  auto d = ParseDeviceFlag("ort-cpu=ort");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->id, "ort-cpu");
  EXPECT_EQ(d->device_class, "cpu-ort");
  EXPECT_EQ(RunnerArgv(*d, "/r"), (std::vector<std::string>{"node", "/r/ort_runner.js"}));
  auto c = ParseDeviceFlag("board0=command:/opt/lab/board.sh");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->runner, "command");
  EXPECT_EQ(RunnerArgv(*c, "/r"), (std::vector<std::string>{"/opt/lab/board.sh"}));
}

TEST(DeviceDefTest, BadDeclarationsAreRefusedWithWhatIsWrong) {
  for (const char* bad : {"ort", "=ort", "Ort=ort", "-x=ort", "x=gpu", "x=command", "x=ort:/bin/true",
                          "waytoolongidwaytoolongidwaytoolongid=ort"})
    EXPECT_FALSE(ParseDeviceFlag(bad).ok()) << bad;
  auto e = ParseDevicesJson(json::parse(R"([{"id": "a", "runner": "ort", "threads": 0}])"), "devices file f");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("device 0: \"threads\""), std::string::npos) << e.status();
  e = ParseDevicesJson(json::parse(R"([{"id": "a", "runner": "ort"}, {"id": "a", "runner": "ort"}])"), "f");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("declared twice"), std::string::npos) << e.status();
  e = ParseDevicesJson(json::parse(R"([{"id": "a", "runner": "ort", "colour": 1}])"), "f");
  EXPECT_FALSE(e.ok());
  e = ParseDevicesJson(json::parse(R"([{"id": "a", "runner": "trtexec", "provider": "cuda"}])"), "f");
  EXPECT_FALSE(e.ok()) << "provider is an ort setting";
  e = ParseDevicesJson(json::parse(R"([{"id": "cpu0", "runner": "ort"}])"), "f");
  EXPECT_FALSE(e.ok()) << "cpu0 is the engine's own device";
  json many = json::array();
  for (int i = 0; i <= kMaxDevices; ++i) many.push_back({{"id", "d" + std::to_string(i)}, {"runner", "ort"}});
  EXPECT_FALSE(ParseDevicesJson(many, "f").ok());
  auto ok = ParseDevicesJson(
      json::parse(R"([{"id": "b", "class": "board-x", "runner": "command", "command": ["/bin/b", "--fast"],
                       "timeout_s": 5, "threads": 4}])"),
      "f");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)[0].command.size(), 2u);
  EXPECT_EQ((*ok)[0].timeout_s, 5);
  EXPECT_TRUE(Selects("board-x", (*ok)[0]));
  EXPECT_TRUE(Selects("b", (*ok)[0]));
  EXPECT_FALSE(Selects("cpu", (*ok)[0]));
}

RunnerRequest TwoBatchSizes() {
  RunnerRequest r;
  r.input_name = "input";
  r.timing = {{1, "time/b1.npy", 1, 0, 1, 3, 0}, {8, "time/b8.npy", 1, 0, 1, 3, 0}};
  return r;
}

// The daemon hands its attached devices to each job's engine process as JSON: what the
// runners said of themselves comes back whole; a hand-over that breaks a declaration rule
// is refused like a devices file, and the public attributes name no command line.
TEST(AttachedDevicesTest, RoundTripThroughJsonAndKeepCommandsPrivate) {
  Device ort;
  ort.def = *ParseDeviceFlag("ort-cpu=ort");
  ort.def.threads = 4;
  ort.def.timeout_s = 30;
  ort.argv = {"node", "/r/ort_runner.js"};
  ort.runtime = "onnxruntime-node";
  ort.version = "1.20.1";
  ort.providers = {"cpu"};
  Device board;
  board.def = *ParseDeviceFlag("board0=command:/opt/lab/secret-board.sh");
  board.argv = board.def.command;
  board.meters = {"ina219"};
  const json j = AttachedJson({ort, board});
  auto back = AttachedFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 2u);
  const Device& o = (*back)[0];
  EXPECT_EQ(o.def.id, "ort-cpu");
  EXPECT_EQ(o.def.device_class, "cpu-ort");
  EXPECT_EQ(o.def.threads, 4);
  EXPECT_EQ(o.def.timeout_s, 30);
  EXPECT_EQ(o.argv, ort.argv);
  EXPECT_EQ(o.version, "1.20.1");
  EXPECT_EQ(o.providers, ort.providers);
  EXPECT_EQ((*back)[1].def.command, board.def.command);
  EXPECT_EQ((*back)[1].meters, board.meters);

  json twice = j;
  twice[1]["id"] = "ort-cpu";
  EXPECT_FALSE(AttachedFromJson(twice).ok()) << "ids are unique";
  json no_argv = j;
  no_argv[0].erase("argv");
  EXPECT_FALSE(AttachedFromJson(no_argv).ok());
  json bad_class = j;
  bad_class[0]["class"] = "CPU ORT";
  EXPECT_FALSE(AttachedFromJson(bad_class).ok());
  EXPECT_FALSE(AttachedFromJson(json::object()).ok());

  const std::string shown = PublicAttributes(board).dump();
  EXPECT_EQ(shown.find("secret-board"), std::string::npos) << shown;
  EXPECT_EQ(PublicAttributes(ort)["version"], "1.20.1");
}

TEST(RunnerResultTest, ReadsTimingsInTheRequestsOrder) {
  auto r = ParseRunnerResult(R"({"runtime": "ort", "version": "1.20.1", "provider": "cpu",
      "timings": [{"batch_size": 8, "ms": [2.0, 2.5], "energy_j": 0.1, "energy_meter": "nvml:0"},
                  {"batch_size": 1, "ms": [0.5]}], "notes": ["x"]})",
                             TwoBatchSizes());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->timings.size(), 2u);
  EXPECT_EQ(r->timings[0].batch_size, 1);
  EXPECT_EQ(r->timings[1].ms.size(), 2u);
  EXPECT_EQ(*r->timings[1].energy_j, 0.1);
  EXPECT_EQ(r->version, "1.20.1");
}

TEST(RunnerResultTest, MalformedResultsSayWhatIsWrong) {
  const std::pair<const char*, const char*> cases[] = {
      {"not json", "result.json"},
      {"[]", "not a JSON object"},
      {R"({"timings": [{"batch_size": 1, "ms": [1]}]})", "1 timing entries for 2"},
      {R"({"timings": [{"batch_size": 1, "ms": [1]}, {"batch_size": 2, "ms": [1]}]})", "batch size 2 was not requested"},
      {R"({"timings": [{"batch_size": 1, "ms": [1]}, {"batch_size": 1, "ms": [1]}]})", "appears twice"},
      {R"({"timings": [{"batch_size": 1, "ms": [1]}, {"batch_size": 8, "ms": []}]})", "non-empty list"},
      {R"({"timings": [{"batch_size": 1, "ms": [1]}, {"batch_size": 8, "ms": [-1]}]})", "positive"},
      {R"({"timings": [{"batch_size": 1, "ms": [1]}, {"batch_size": 8, "ms": [1, 1, 1, 1]}]})", "above max_runs"},
      {R"({"timings": [{"batch_size": 1, "ms": [1]}, {"batch_size": 8, "ms": ["1"]}]})", "positive"},
      {R"({"runtime": 3, "timings": []})", "\"runtime\" is not a string"},
      {R"({"notes": "x", "timings": []})", "\"notes\""},
  };
  for (const auto& [text, what] : cases) {
    auto r = ParseRunnerResult(text, TwoBatchSizes());
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.status().message().find(what), std::string::npos) << text << " -> " << r.status();
  }
  EXPECT_FALSE(ParseRunnerResult(std::string(kMaxResultBytes + 1, ' '), TwoBatchSizes()).ok());
}

TEST(RunnerResultTest, WordsARunnerWritesAreCleanedAndCapped) {
  auto r = ParseRunnerResult(std::string(R"({"runtime": "a\u0007b)") + std::string(200, 'x') +
                                 R"(", "timings": [{"batch_size": 1, "ms": [1]}, {"batch_size": 8, "ms": [1]}]})",
                             TwoBatchSizes());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->runtime.size(), kMaxWordBytes);
  EXPECT_EQ(r->runtime.substr(0, 3), "a?b");
}

TEST(RunnerDescriptionTest, TheFirstJsonLineDescribesTheRunner) {
  auto d = ParseDescription("loading...\n{\"runtime\": \"onnxruntime-node\", \"version\": \"1.20.1\", "
                            "\"providers\": [\"cpu\"], \"meters\": []}\n");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->runtime, "onnxruntime-node");
  EXPECT_EQ(d->providers, std::vector<std::string>{"cpu"});
  EXPECT_FALSE(ParseDescription("nothing here\n").ok());
  EXPECT_FALSE(ParseDescription("{\"version\": \"1\"}\n").ok()) << "no runtime";
}

TEST(RequestTest, TheRequestCarriesTheDeviceAndEveryBatch) {
  DeviceDef d = *ParseDeviceFlag("ort-cpu=ort");
  RunnerRequest r = TwoBatchSizes();
  r.eval = {{"eval/000000.npy", "out/000000.npy"}};
  const json j = RequestJson(d, r);
  EXPECT_EQ(j["protocol"], kProtocolVersion);
  EXPECT_EQ(j["device"]["class"], "cpu-ort");
  EXPECT_EQ(j["eval"][0]["output"], "out/000000.npy");
  EXPECT_EQ(j["timing"][1]["batch_size"], 8);
  EXPECT_EQ(j["timing"][1]["max_runs"], 3);
}

TEST(ProcessTest, ExitStatusSignalAndOutput) {
  auto r = RunProcess({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, "", 10);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->Describe(10), "exited with status 3");
  r = RunProcess({"/bin/sh", "-c", "kill -SEGV $$"}, "", 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->signal, 11);
  EXPECT_NE(r->Describe(10).find("signal 11"), std::string::npos);
  r = RunProcess({"/nonexistent/runner"}, "", 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 127);
}

TEST(ProcessTest, ATimeoutKillsTheRunnerAndWhatItStarted) {
  const auto t0 = std::chrono::steady_clock::now();
  // The child keeps stdout open in a grandchild: the whole group must go.
  auto r = RunProcess({"/bin/sh", "-c", "sleep 30 & sleep 30"}, "", 1);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_FALSE(r->ok());
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10);
  EXPECT_NE(r->Describe(1).find("timeout"), std::string::npos);
}

TEST(ProcessTest, StopKillsTheRunnerWithinAPoll) {
  const auto t0 = std::chrono::steady_clock::now();
  auto since = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  auto r = RunProcess({"/bin/sh", "-c", "sleep 30 & sleep 30"}, "", 60, 1 << 20, 64 << 10, [&] { return since() > 0.3; });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->stopped);
  EXPECT_FALSE(r->timed_out);
  EXPECT_FALSE(r->ok());
  EXPECT_LT(since(), 3);
  EXPECT_EQ(r->Describe(60), "was stopped: the job is being cancelled");
  auto fine = RunProcess({"/bin/true"}, "", 60, 1 << 20, 64 << 10, [] { return false; });
  ASSERT_TRUE(fine.ok());
  EXPECT_TRUE(fine->ok());
}

TEST(ProcessTest, OnlyTheListedEnvironmentReachesTheRunnerAndOutputIsBounded) {
  ::setenv("QB_TEST_SECRET", "hunter2", 1);
  auto r = RunProcess({"/bin/sh", "-c", "env; head -c 100000 /dev/zero | tr '\\0' x"}, "/", 10, 1000, 100);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out.find("hunter2"), std::string::npos);
  EXPECT_EQ(r->out.size(), 1000u);
  EXPECT_EQ(r->exit_code, 0);
}

}  // namespace
}  // namespace qbench::device
