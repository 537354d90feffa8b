// What the worker daemon relies on from RunJob: progress through every stage, each
// configuration reported as it finishes (FP32 first), cancellation between batches, and
// the offline scenario's figures.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "tests/test_paths.h"
#include "worker/engine/pipeline/job_spec.h"
#include "worker/engine/pipeline/pipeline.h"

namespace qbench {
namespace {

std::string Fashion(const std::string& file) { return testing::SourceDir() + "/models/fashion_mnist/" + file; }

JobSpec SmallJob() {
  JobSpec spec;
  spec.model = Fashion("cnn_bn.onnx");
  spec.eval_dataset = Fashion("dataset.json");
  spec.samples = 256;
  spec.calibration_dataset = Fashion("train_dataset.json");
  spec.calibration_samples = 128;
  spec.batch_sizes = {1, 16};
  spec.latency = {1, 0, 3, 0, 10};
  spec.sqnr_samples = 32;
  spec.sensitivity = false;
  spec.profile_iters = 0;
  spec.offline = {16, 100, 2};
  spec.configs = {*quant::ConfigFromShortName("fp32"), *quant::ConfigFromShortName("w8a8")};
  return spec;
}

TEST(PipelineHooksTest, ProgressResultsAndOfflineScenario) {
  std::set<std::pair<std::string, RunStage>> seen;
  std::vector<std::string> done;
  int64_t last_total = -1;
  RunHooks hooks;
  hooks.progress = [&](const std::string& config, RunStage stage, int64_t d, int64_t total) {
    seen.insert({config, stage});
    EXPECT_LE(d, total);
    last_total = total;
  };
  hooks.config_done = [&](const ConfigResult& r) { done.push_back(r.config.name); };
  auto r = RunJob(SmallJob(), hooks);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(done, (std::vector<std::string>{"fp32", "w8a8"}));
  for (RunStage st : {RunStage::kEvaluating, RunStage::kBenchmarking})
    EXPECT_TRUE(seen.count({"fp32", st})) << RunStageName(st);
  for (RunStage st : {RunStage::kCalibrating, RunStage::kQuantizing, RunStage::kEvaluating, RunStage::kBenchmarking})
    EXPECT_TRUE(seen.count({"w8a8", st})) << RunStageName(st);
  EXPECT_GT(last_total, 0);
  for (const ConfigResult& c : r->configs) {
    ASSERT_TRUE(c.offline.has_value()) << c.config.name;
    EXPECT_EQ(c.offline->batch_size, 16);
    EXPECT_EQ(c.offline->samples, 96) << "whole batches only";
    ASSERT_EQ(c.offline->pass_throughput.size(), 2u);
    EXPECT_GT(c.offline->median_throughput, 0);
    EXPECT_THAT(c.notes, ::testing::Contains(::testing::HasSubstr("offline scenario")));
  }
}

TEST(PipelineHooksTest, CancelStopsTheJobBetweenBatches) {
  int batches = 0;
  RunHooks hooks;
  hooks.progress = [&](const std::string&, RunStage stage, int64_t, int64_t) {
    if (stage == RunStage::kEvaluating) ++batches;
  };
  hooks.cancelled = [&] { return batches >= 3; };
  auto r = RunJob(SmallJob(), hooks);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled) << r.status();
  EXPECT_LT(batches, 10) << "stopped soon after the request";
}

TEST(PipelineHooksTest, OfflineSpecIsValidated) {
  const std::string base = R"({"model": "m.onnx", "eval_dataset": "d.json", "offline": )";
  auto ok = ParseJobSpec(base + R"({"batch_size": 32, "samples": 512, "passes": 5}})", "/");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->offline.batch_size, 32);
  EXPECT_EQ(ok->offline.passes, 5);
  auto defaults = ParseJobSpec(base + "{}}", "/");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->offline.batch_size, 64);
  EXPECT_EQ(defaults->offline.samples, 1024);
  for (const char* bad : {R"({"batch_size": 0})", R"({"batch_size": 64, "samples": 8})", R"({"passes": 0})",
                          R"({"warmup": 1})", "3"}) {
    auto s = ParseJobSpec(base + bad + "}", "/");
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(s.status().message()), ::testing::HasSubstr("offline")) << bad;
  }
}

}  // namespace
}  // namespace qbench
