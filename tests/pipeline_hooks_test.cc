// What the worker daemon relies on from RunJob: progress through every stage, each
// configuration reported as it finishes (FP32 first), cancellation between batches, and
// the offline scenario's figures.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sched.h>

#include <set>

#include "tests/test_paths.h"
#include "spec/job_spec.h"
#include "engine/pipeline/pipeline.h"

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

// Latency in sessions: the query counts are split over fresh plans, every batch size gets
// one median per session, and the reported interval covers all of them.
TEST(PipelineHooksTest, LatencyRunsInSessions) {
  JobSpec spec = SmallJob();
  spec.configs = {*quant::ConfigFromShortName("fp32")};
  spec.offline = {};
  spec.latency = {1, 0, 10, 0, 100, 4};
  std::vector<std::pair<int64_t, int64_t>> steps;
  RunHooks hooks;
  hooks.progress = [&](const std::string&, RunStage stage, int64_t d, int64_t total) {
    if (stage == RunStage::kBenchmarking) steps.push_back({d, total});
  };
  auto r = RunJob(spec, hooks);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->configs[0].latency.size(), 2u);
  for (const BatchLatency& b : r->configs[0].latency) {
    EXPECT_EQ(b.stats.count, 10) << "3 + 3 + 2 + 2 queries";
    EXPECT_EQ(b.stats.sessions, 4);
    ASSERT_EQ(b.stats.session_medians_ms.size(), 4u);
    for (double m : b.stats.session_medians_ms) {
      EXPECT_LE(b.stats.median_ci_low_ms, m);
      EXPECT_GE(b.stats.median_ci_high_ms, m);
    }
    EXPECT_THAT(b.stats.median_ci_method, ::testing::HasSubstr("of 4 session medians (87.5%)"));
  }
  // 4 sessions x 2 batch sizes, then done.
  ASSERT_FALSE(steps.empty());
  EXPECT_EQ(steps.front(), std::make_pair(int64_t{0}, int64_t{8}));
  EXPECT_EQ(steps.back(), std::make_pair(int64_t{8}, int64_t{8}));
  EXPECT_EQ(steps.size(), 10u);

  const std::string base = R"({"model": "m.onnx", "eval_dataset": "d.json", "latency": )";
  auto ok = ParseJobSpec(base + R"({"sessions": 7}})", "/");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->latency.sessions, 7);
  EXPECT_EQ(ParseJobSpec(base + "{}}", "/")->latency.sessions, 5);
  for (const char* bad : {R"({"sessions": 0})", R"({"sessions": 51})", R"({"sessions": "two"})"}) {
    auto s = ParseJobSpec(base + bad + "}", "/");
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(s.status().message()), ::testing::HasSubstr("latency.sessions")) << bad;
  }
}

// pin_threads binds the job's engine thread for the job and records it; sub_batch is
// parsed with the other fields and reaches the latency rows as their execution.
TEST(PipelineHooksTest, PinningAndSubBatchFromTheSpec) {
  JobSpec spec = SmallJob();
  spec.configs = {*quant::ConfigFromShortName("fp32")};
  spec.offline = {};
  spec.pin_threads = true;
  spec.sub_batch = 4;
  cpu_set_t before;
  ASSERT_EQ(sched_getaffinity(0, sizeof(before), &before), 0);
  auto r = RunJob(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->env.pinning, ::testing::HasSubstr("pinned by QBench: thread 0 on CPU"));
  cpu_set_t after;
  ASSERT_EQ(sched_getaffinity(0, sizeof(after), &after), 0);
  EXPECT_TRUE(CPU_EQUAL(&before, &after)) << "unpinned when the job ends";
  ASSERT_EQ(r->configs[0].latency.size(), 2u);
  EXPECT_THAT(DescribeSplit(r->configs[0].latency[0].split), ::testing::HasSubstr("batch 1 in one piece"));
  EXPECT_THAT(DescribeSplit(r->configs[0].latency[1].split), ::testing::HasSubstr("batch 16 as 4 sub-batches of 4"));
  EXPECT_THAT(r->configs[0].notes, ::testing::Contains(::testing::HasSubstr("latency: batch 16 as 4 sub-batches")));

  const std::string base = R"({"model": "m.onnx", "eval_dataset": "d.json", )";
  EXPECT_EQ(ParseJobSpec(base + R"("sub_batch": "off"})", "/")->sub_batch, 0);
  EXPECT_EQ(ParseJobSpec(base + R"("sub_batch": 8})", "/")->sub_batch, 8);
  EXPECT_EQ(ParseJobSpec(base + R"("sub_batch": "auto"})", "/")->sub_batch, SessionOptions::kAutoSubBatch);
  EXPECT_TRUE(ParseJobSpec(base + R"("pin_threads": true})", "/")->pin_threads);
  EXPECT_FALSE(ParseJobSpec(base + R"("threads": 1})", "/")->pin_threads);
  for (const char* bad : {R"("sub_batch": 0})", R"("sub_batch": "some"})", R"("pin_threads": "yes"})"}) {
    auto s = ParseJobSpec(base + bad, "/");
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace qbench
