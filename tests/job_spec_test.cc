// The spec library's job spec parser against hostile numbers and shapes (issue 17, findings 1,
// 6, 7 and 11): what a worker, `qbench-worker --local` and the server all parse with.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>

#include <string>

#include "spec/job_spec.h"

namespace qbench {
namespace {

using ::testing::HasSubstr;

const std::string kHead = R"({"model": "m.onnx", "eval_dataset": "d.json", )";
const std::string kMinimal = R"({"model": "m.onnx", "eval_dataset": "d.json"})";

absl::Status Parse(const std::string& rest, const JobSpecLimits& limits = {}) {
  return ParseJobSpec(kHead + rest, "/", limits).status();
}

void ExpectRefused(const std::string& rest, const std::string& words, const JobSpecLimits& limits = {}) {
  const absl::Status s = Parse(rest, limits);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << rest << ": " << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(words)) << rest;
}

TEST(JobSpecTest, NumbersBeyondADoubleAndDeepNestingAreErrors) {
  ExpectRefused(R"("samples": 1e400})", "job spec: not valid JSON: a number is too large");
  ExpectRefused(R"("name": )" + std::string(100000, '[') + std::string(100000, ']') + "}", "deeper than 64 levels");
  // Deep configurations used to be copied recursively before any check.
  ExpectRefused(R"("configs": )" + std::string(100000, '[') + std::string(100000, ']') + "}", "deeper than 64");
  ExpectRefused(R"("configs": [{"name": "x", "overrides": )" + std::string(1000, '{') + "}", "deeper than 64");
}

TEST(JobSpecTest, NumbersAreRangeCheckedBeforeNarrowing) {
  ExpectRefused(R"("threads": -4294967295})", "\"threads\" must be in 0..1024, got -4294967295");
  ExpectRefused(R"("threads": 4294967297})", "\"threads\" is 4294967297, above the job limit \"threads\" of 1024");
  ExpectRefused(R"("batch_sizes": [1.5]})", "\"batch_sizes[0]\" must be an integer, got 1.5");
  ExpectRefused(R"("batch_sizes": [1, 18446744073709551615]})", "batch_sizes[1]");
  ExpectRefused(R"("seed": -1})", "\"seed\" must be in 0..");
  ExpectRefused(R"("calibration": {"seed": 0.5}})", "calibration.seed");
  ExpectRefused(R"("profile_iters": 4294967297})", "profile_iters");
  ExpectRefused(R"("latency": {"sessions": 4294967297}})", "latency.sessions");
  ExpectRefused(R"("offline": {"passes": -4294967295}})", "offline.passes");
  ExpectRefused(R"("configs": [{"name": "x", "weights": {"bits": 4294967304}}]})",
                "\"configs[0].weights.bits\" is 4294967304; must be in [2, 8]");
  ExpectRefused(R"("configs": [{"name": "x", "activations": {"bits": -4294967288}}]})", "configs[0].activations.bits");
  ExpectRefused(R"("configs": [{"name": "x", "dyadic_bits": 4294967312}]})", "configs[0].dyadic_bits");
  ExpectRefused(R"("configs": [{"name": "x", "preset": 8}]})", "configs[0].preset\" must be a string");
  ExpectRefused(R"("configs": [{"name": "x", "overrides": [{"node": "a", "weights": 3}]}]})",
                "configs[0].overrides[0].weights\" must be an object");
  ExpectRefused(R"("sub_batch": 1e300})", "sub_batch");
  ExpectRefused(R"("validation": {"samples": 1e300}})", "validation.samples");
  ExpectRefused(R"("validation": {"fraction": 1e300}})", "validation.fraction");
  // Integral floats are integers: 1e3 is a thousand.
  auto s = ParseJobSpec(kHead + R"("samples": 1e3, "batch_sizes": [1, 64.0], "seed": 18446744073709551615})", "/");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->samples, 1000);
  EXPECT_EQ(s->batch_sizes, (std::vector<int64_t>{1, 64}));
  EXPECT_EQ(s->seed, UINT64_MAX);
}

TEST(JobSpecTest, IterationsSecondsAndSamplesAreCapped) {
  ExpectRefused(R"("latency": {"min_iters": 1e18, "max_iters": 1e18}})",
                "\"latency.min_iters\" is 1e+18, above the job limit \"latency.max_iters\" of 1000000");
  ExpectRefused(R"("latency": {"max_iters": 1e18}})", "latency.max_iters");
  ExpectRefused(R"("latency": {"warmup_iters": 1e7}})", "latency.warmup_iters");
  ExpectRefused(R"("latency": {"min_seconds": 601}})", "\"latency.min_seconds\" is 601, above the job limit");
  ExpectRefused(R"("latency": {"warmup_seconds": 1e9}})", "latency.warmup_seconds");
  ExpectRefused(R"("offline": {"samples": 1e15}})",
                "\"offline.samples\" is 1e+15, above the job limit \"offline.samples\" of 1000000");
  ExpectRefused(R"("offline": {"batch_size": 1e9, "samples": 1e9}})", "offline.batch_size");
  ExpectRefused(R"("calibration": {"batch_size": 1e9}})",
                "\"calibration.batch_size\" is 1000000000.0, above the job limit \"batch_size\" of 4096");
  ExpectRefused(R"("calibration": {"samples": 1e9}})", "calibration.samples");
  ExpectRefused(R"("calibration": {"dataset": "c.json"}, "configs": [{"name": "x", "calibration": {"samples": 1000000000}}]})",
                "\"configs[0].calibration.samples\" is 1000000000, above the job limit \"calibration.samples\"");
  ExpectRefused(R"("sqnr_samples": 1e9})", "sqnr_samples");
  ExpectRefused(R"("samples": 1e9})", "\"samples\" is 1000000000.0, above the job limit \"samples\" of 10000000");
  ExpectRefused(R"("eval_batch_size": 100000})", "eval_batch_size");
  std::string sizes = "1";
  for (int i = 0; i < 64; ++i) sizes += ", 1";  // 65 entries
  ExpectRefused(R"("batch_sizes": [)" + sizes + "]}", "above the job limit \"batch_sizes\" of 64");
  ExpectRefused(R"("max_job_seconds": 1e9})", "max_job_seconds");
  ExpectRefused(R"("max_job_seconds": 0})", "max_job_seconds");

  // Real jobs are well inside the defaults.
  auto real = ParseJobSpec(kHead + R"("latency": {"warmup_iters": 20, "min_iters": 200, "min_seconds": 1.0},
      "offline": {"batch_size": 64, "samples": 2048, "passes": 3}, "max_job_seconds": 3600})", "/");
  ASSERT_TRUE(real.ok()) << real.status();
  EXPECT_EQ(real->max_job_seconds, 3600);
  EXPECT_EQ(ParseJobSpec(kMinimal, "/")->max_job_seconds, JobSpecLimits{}.default_job_seconds);

  // Configurable: a lowered cap refuses what the defaults allow, and lowers defaults above it.
  JobSpecLimits small;
  ASSERT_TRUE(SetJobSpecLimit("latency.max_iters=100", &small).ok());
  ASSERT_TRUE(SetJobSpecLimit("default_job_seconds=60", &small).ok());
  ExpectRefused(R"("latency": {"max_iters": 101}})", "above the job limit \"latency.max_iters\" of 100", small);
  auto lowered = ParseJobSpec(kMinimal, "/", small);
  ASSERT_TRUE(lowered.ok()) << lowered.status();
  EXPECT_EQ(lowered->latency.max_iters, 100);
  EXPECT_EQ(lowered->max_job_seconds, 60);
  EXPECT_FALSE(SetJobSpecLimit("latency.max_iters=-1", &small).ok());
  EXPECT_FALSE(SetJobSpecLimit("latency.max_iters=1.5", &small).ok());
  EXPECT_THAT(std::string(SetJobSpecLimit("bogus=1", &small).message()), HasSubstr("offline.samples"));
}

TEST(JobSpecTest, TheWidestLimitsAcceptWhatARaisedServerLimitWould) {
  // What the CLI checks a spec with before it uploads: no configured server refuses
  // less, so a spec refused here is refused everywhere.
  const JobSpecLimits wide = WidestJobSpecLimits();
  for (int i = 0; i < kJobSpecLimitCount; ++i) {
    const JobSpecLimitDef& d = kJobSpecLimits[i];
    JobSpecLimits raised;
    ASSERT_TRUE(SetJobSpecLimit(std::string(d.name) + "=" + (d.integer ? "9223372036854775807" : "1e300"), &raised).ok());
    if (d.integer) EXPECT_GE(wide.*d.integer, raised.*d.integer) << d.name;
    else if (d.number != &JobSpecLimits::default_job_seconds) EXPECT_GE(wide.*d.number, raised.*d.number) << d.name;
  }
  EXPECT_FALSE(wide.cap_threads_at_cpus);
  auto big = ParseJobSpecDocument(R"({"samples": 20000000, "threads": 5000, "max_job_seconds": 9e6})", wide);
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ(big->threads, 5000);
  EXPECT_FALSE(ParseJobSpecDocument(R"({"samples": 20000000})").ok()) << "above the default limit";
  EXPECT_FALSE(ParseJobSpecDocument(R"({"batch_sizes": [0]})", wide).ok()) << "still range-checked";
}

TEST(JobSpecTest, ThreadsAboveTheCpusAreCappedAndRecorded) {
  cpu_set_t set;
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  const int cpus = CPU_COUNT(&set);
  auto s = ParseJobSpec(kHead + R"("threads": 1000})", "/");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->threads, std::min(cpus, 1000));
  EXPECT_EQ(s->requested_threads, cpus < 1000 ? 1000 : 0);
  // Within the CPUs, and 0 (all cores), stay as asked.
  EXPECT_EQ(ParseJobSpec(kHead + R"("threads": 1})", "/")->requested_threads, 0);
  EXPECT_EQ(ParseJobSpec(kHead + R"("threads": 0})", "/")->threads, 0);
  // The server does not cap (its CPUs are not the worker's).
  JobSpecLimits server;
  server.cap_threads_at_cpus = false;
  EXPECT_EQ(ParseJobSpec(kHead + R"("threads": 1000})", "/", server)->threads, 1000);
}

TEST(JobSpecTest, TypeErrorsNameTheField) {
  ExpectRefused(R"("name": 3})", "\"name\" must be a string");
  ExpectRefused(R"("latency": {"min_iters": "many"}})", "\"latency.min_iters\" must be an integer, got a string");
  ExpectRefused(R"("latency": {"bogus": 1}})", "\"latency.bogus\" is not a known field");
  ExpectRefused(R"("bogus": 1})", "\"bogus\" is not a known field");
  ExpectRefused(R"("sensitivity": 1})", "\"sensitivity\" must be true or false");
  ExpectRefused(R"("batch_sizes": 4})", "batch_sizes");
  ExpectRefused(R"("calibration": [1]})", "\"calibration\" must be an object");
  EXPECT_EQ(ParseJobSpec("[1]", "/").status().code(), absl::StatusCode::kInvalidArgument);
}

// The baseline is configs[0] for every reader (the store flags it, the pipeline measures
// against it): the first FP32-precision configuration, moved to the front, or "fp32" added
// when there is none. Before, "fp32" was added by name, so a spec naming its FP32 run "ref"
// ran FP32 twice, and one listing "fp32" last kept it last.
TEST(JobSpecTest, TheBaselineComesFirst) {
  auto s = ParseJobSpec(kHead + R"("configs": ["bf16", {"name": "ref", "preset": "fp32"}]})", "/");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->configs.size(), 2u);
  EXPECT_EQ(s->configs[0].name, "ref");
  EXPECT_EQ(s->configs[1].name, "bf16");
  EXPECT_TRUE(s->configs_listed);
  s = ParseJobSpec(kMinimal, "/");
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->configs.size(), 1u);
  EXPECT_EQ(s->configs[0].name, "fp32");
  EXPECT_FALSE(s->configs_listed);
  ExpectRefused(R"("configs": [{"name": "fp32", "preset": "w8a8"}]})", "kept for the FP32 baseline");
}

// The document form reads every field but requires no file; CheckJobFiles then says which
// is missing, as the complete form does.
TEST(JobSpecTest, DocumentsNeedNoFilesUntilCompleted) {
  auto doc = ParseJobSpecDocument(R"({"configs": ["w8a8"], "samples": 5})");
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_TRUE(doc->model.empty());
  EXPECT_EQ(doc->samples, 5);
  absl::Status s = CheckJobFiles(*doc, FilesOf(*doc));
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"model\" is required"));
  s = CheckJobFiles(*doc, {true, true, false});
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"calibration.dataset\" is required: configuration \"w8a8\""));
  EXPECT_TRUE(CheckJobFiles(*doc, {true, true, true}).ok());
  // Field errors are the same in both forms.
  EXPECT_THAT(std::string(ParseJobSpecDocument(R"({"samples": -1})").status().message()), HasSubstr("samples"));
  auto relative = ParseJobSpecDocument(R"({"model": "m.onnx"})");
  ASSERT_TRUE(relative.ok());
  EXPECT_EQ(relative->model, "m.onnx");  // as written: the document form resolves nothing
}

}  // namespace
}  // namespace qbench

namespace qbench {
namespace {

TEST(JobSpecTest, DevicesAreDistinctIdsOrClasses) {
  auto s = ParseJobSpec(kHead + R"("devices": ["ort-cpu", "gpu-trt"]})", "/");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->devices, (std::vector<std::string>{"ort-cpu", "gpu-trt"}));
  EXPECT_TRUE(ParseJobSpec(kMinimal, "/")->devices.empty());
  ExpectRefused(R"("devices": "ort-cpu"})", "field \"devices\" must be a list");
  ExpectRefused(R"("devices": ["ort", "ort"]})", "field \"devices[1]\" repeats a device");
  ExpectRefused(R"("devices": ["../etc"]})", "field \"devices[0]\" must be a device id or class");
  ExpectRefused(R"("devices": ["Ort"]})", "devices[0]");
  ExpectRefused(R"("devices": [""]})", "devices[0]");
  ExpectRefused(R"("devices": [7]})", "devices[0]");
  ExpectRefused(R"("devices": [")" + std::string(65, 'a') + R"("]})", "devices[0]");
  std::string many = R"("devices": [)";
  for (int i = 0; i <= kMaxJobDevices; ++i) many += (i ? ", \"d" : "\"d") + std::to_string(i) + "\"";
  ExpectRefused(many + "]}", "at most 16");
}

}  // namespace
}  // namespace qbench
