// The service end to end on real parts: PostgreSQL, the qbench-server binary, qbench-worker
// processes and the qbench CLI on loopback (tests/service_lab.h). Each test gets its own
// lab, so the scenarios (crashes, cancellation, a database restart) cannot disturb each other.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <onnx/onnx_pb.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "client/blob_client.h"
#include "tests/service_fixture.h"
#include "tests/service_lab.h"
#include "tests/test_paths.h"
#include "spec/job_spec.h"
#include "engine/pipeline/pipeline.h"

namespace qbench::testing {
namespace {

using ::testing::HasSubstr;

// The service's paired delta equals the engine's, field by field (`full`: with the
// p-value, the discordant counts and the methods, which validation figures do not carry).
void ExpectSamePaired(const v1::PairedDelta* remote, const std::optional<PairedComparison>& mine, bool full) {
  ASSERT_EQ(remote != nullptr, mine.has_value());
  if (!mine) return;
  EXPECT_EQ(remote->delta(), mine->delta);
  EXPECT_EQ(remote->ci_low(), mine->ci_low);
  EXPECT_EQ(remote->ci_high(), mine->ci_high);
  EXPECT_EQ(remote->significant(), mine->significant());
  if (!full) return;
  EXPECT_EQ(remote->p_value(), mine->p_value);
  EXPECT_EQ(remote->fp32_right_config_wrong(), mine->base_only);
  EXPECT_EQ(remote->fp32_wrong_config_right(), mine->other_only);
  EXPECT_EQ(remote->interval_method(), kPairedIntervalMethod);
  EXPECT_EQ(remote->test_method(), kPairedTestMethod);
}

class ServiceTest : public ServiceFixture {};

// Submit through the CLI (uploading the model and both datasets), follow it to the end,
// and compare: the accuracy figures in the database equal the local runner's exactly.
TEST_F(ServiceTest, SubmitWatchCompareMatchesLocalRunner) {
  StartWorker("w1");
  const std::string spec = SmallSpec({"fp32", "w8a8", "w4a8"}, 300, {1, 16});
  const std::string spec_path = lab_->dir() + "/spec.json";
  std::ofstream(spec_path) << spec;
  std::string out;
  ASSERT_EQ(Cli("acme", {"submit", spec_path, "--wait"}, &out), 0) << out << ReadTextFile(lab_->dir() + "/cli.log");
  std::vector<std::string> lines = absl::StrSplit(out, '\n');
  std::string name;
  for (const std::string& l : lines)
    if (l.rfind("jobs/", 0) == 0 && name.empty()) name = std::string(absl::StripAsciiWhitespace(l.substr(0, l.find(' '))));
  ASSERT_FALSE(name.empty()) << out;

  auto job = lab_->WaitForEnd(lab_->token("acme"), name, absl::Seconds(10));
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->state(), v1::SUCCEEDED) << job->failure_reason();
  EXPECT_FALSE(job->model().blob().empty()) << "the CLI uploads the model";
  v1::JobResults results = Results("acme", name);
  ASSERT_EQ(results.configs_size(), 3);

  auto local_spec = ParseJobSpec(spec, "/");
  ASSERT_TRUE(local_spec.ok()) << local_spec.status();
  auto local = RunJob(*local_spec);
  ASSERT_TRUE(local.ok()) << local.status();
  ASSERT_EQ(local->configs.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const auto& remote = results.configs(static_cast<int>(i));
    const ConfigResult& mine = local->configs[i];
    SCOPED_TRACE(remote.config());
    EXPECT_EQ(remote.config(), mine.config.name);
    EXPECT_EQ(remote.error(), "");
    EXPECT_EQ(remote.samples(), 300);
    EXPECT_DOUBLE_EQ(remote.top1(), mine.accuracy.top1);
    EXPECT_DOUBLE_EQ(remote.top5(), mine.accuracy.top5);
    if (i > 0) {
      EXPECT_DOUBLE_EQ(remote.agreement_with_fp32(), mine.accuracy.agreement);
      EXPECT_NEAR(remote.output_sqnr_db(), mine.accuracy.output_sqnr_db, 1e-9);
      EXPECT_DOUBLE_EQ(remote.top1_delta_vs_fp32(), mine.accuracy.top1 - local->configs[0].accuracy.top1);
    }
    // Issue 12 through the service: the strict top-1 counts, the paired delta with its
    // 95% interval, p-value and discordant counts, and the validation figures equal the
    // local runner's exactly (EXPECT_EQ on doubles: nothing may be rounded on the way).
    EXPECT_EQ(remote.is_baseline(), i == 0);
    EXPECT_EQ(remote.top1_hits(), mine.accuracy.top1_hits);
    EXPECT_EQ(remote.tied_top1(), mine.accuracy.tied_top1);
    ExpectSamePaired(remote.has_vs_fp32() ? &remote.vs_fp32() : nullptr, mine.accuracy.vs_fp32, /*full=*/true);
    ASSERT_EQ(remote.has_validation(), mine.validation.has_value());
    if (mine.validation) {
      EXPECT_EQ(remote.validation().samples(), mine.validation->samples);
      EXPECT_EQ(remote.validation().top1(), mine.validation->top1);
      ExpectSamePaired(remote.validation().has_vs_fp32() ? &remote.validation().vs_fp32() : nullptr,
                       mine.validation->vs_fp32, /*full=*/false);
    }
    EXPECT_EQ(remote.model_size_bytes(), mine.model_bytes);
    ASSERT_EQ(remote.latency_size(), 2);
    EXPECT_EQ(remote.latency(1).batch_size(), 16);
    EXPECT_GT(remote.latency(1).p50_ms(), 0);
    EXPECT_GE(remote.latency(1).p99_ms(), remote.latency(1).p50_ms());
    EXPECT_GE(remote.latency(1).iterations(), 5);
    // The latency detail reaches the API for every batch size: the samples, the median's
    // interval around p50, p90 between p50 and p99, the sessions and the method.
    for (const v1::BatchLatency& l : remote.latency()) {
      SCOPED_TRACE(absl::StrCat("batch ", l.batch_size()));
      EXPECT_FALSE(l.samples_ms().empty());
      EXPECT_LE(l.samples_ms_size(), l.iterations());
      EXPECT_LE(l.median_ci_low_ms(), l.p50_ms());
      EXPECT_LE(l.p50_ms(), l.median_ci_high_ms());
      EXPECT_GT(l.median_ci_low_ms(), 0);  // measured, not the zeros of an unset field
      EXPECT_GE(l.p90_ms(), l.p50_ms());
      EXPECT_LE(l.p90_ms(), l.p99_ms());
      EXPECT_GE(l.p999_ms(), l.p99_ms());
      EXPECT_GT(l.min_ms(), 0);
      EXPECT_LE(l.min_ms(), l.p50_ms());
      EXPECT_GE(l.max_ms(), l.p999_ms());
      EXPECT_GT(l.mean_ms(), 0);
      EXPECT_GE(l.sessions(), 1);
      EXPECT_FALSE(l.median_ci_method().empty());
      for (double ms : l.samples_ms()) {
        EXPECT_GE(ms, l.min_ms());
        EXPECT_LE(ms, l.max_ms());
      }
    }
    EXPECT_NE(remote.energy().source(), v1::ENERGY_SOURCE_UNSPECIFIED) << "energy carries its source";
  }
  EXPECT_GT(results.layers_size(), 0) << "per-layer table";
  // Which samples the figures come from, as the local runner drew them.
  ASSERT_TRUE(results.has_evaluation()) << "the evaluation split is recorded";
  const v1::EvaluationSplit& split = results.evaluation();
  EXPECT_EQ(split.mode(), local->split.mode);
  EXPECT_EQ(split.seed(), local->split.seed);
  EXPECT_EQ(split.test_samples(), static_cast<int64_t>(local->split.test_indices.size()));
  EXPECT_EQ(split.validation_samples(), static_cast<int64_t>(local->split.validation_indices.size()));
  EXPECT_EQ(split.test_indices_sha256(), local->split.test_indices_sha256);
  EXPECT_EQ(split.validation_indices_sha256(), local->split.validation_indices_sha256);
  EXPECT_EQ(split.selection(), local->split.selection);
  EXPECT_EQ(split.calibration_is_eval_data(), local->split.calibration_is_eval_data);
  EXPECT_EQ(split.calibration_test_overlap(), local->split.calibration_test_overlap);

  // The event history streams state changes, progress and each result, then ends.
  v1::WatchJobRequest wreq;
  wreq.set_name(name);
  auto ctx = Lab::Context(lab_->token("acme"));
  auto reader = lab_->jobs().WatchJob(ctx.get(), wreq);
  v1::JobEvent e;
  int64_t last = 0, states = 0, progress = 0;
  std::set<std::string> result_configs;
  bool succeeded = false;
  while (reader->Read(&e)) {
    EXPECT_EQ(e.sequence(), last + 1);
    last = e.sequence();
    if (e.has_state_changed()) ++states, succeeded = e.state_changed().state() == v1::SUCCEEDED;
    if (e.has_progress()) ++progress;
    if (e.has_result()) result_configs.insert(e.result().config());
  }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_GE(states, 3);  // queued, running, succeeded
  EXPECT_TRUE(succeeded);
  EXPECT_GT(progress, 3);
  EXPECT_EQ(result_configs, (std::set<std::string>{"fp32", "w8a8", "w4a8"}));

  // compare in every format; the CSV has one row per configuration and batch size.
  ASSERT_EQ(Cli("acme", {"compare", name, "--format", "csv"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("w4a8"));
  std::vector<std::string> csv = absl::StrSplit(out, '\n', absl::SkipEmpty());
  EXPECT_EQ(csv.size(), 1u + 3 * 2) << out;
  EXPECT_THAT(csv[0], HasSubstr(",median_ci_low_ms,median_ci_high_ms,"));
  ASSERT_EQ(Cli("acme", {"compare", name, "--format", "json"}, &out), 0) << out;
  ASSERT_TRUE(nlohmann::json::accept(out)) << out;
  for (const auto& row : nlohmann::json::parse(out)) {
    EXPECT_FALSE(row["samples_ms"].empty()) << row["config"];
    EXPECT_GE(row["latency_sessions"].get<int>(), 1) << row["config"];
  }
  for (const auto& row : nlohmann::json::parse(out)) {
    const std::string config = row["config"];
    const ConfigResult& mine = local->configs[config == "fp32" ? 0 : config == "w8a8" ? 1 : 2];
    EXPECT_EQ(row["tied_top1"], mine.accuracy.tied_top1) << config;
    if (!mine.accuracy.vs_fp32) continue;
    EXPECT_EQ(row["fp32_right_config_wrong"], mine.accuracy.vs_fp32->base_only) << config;
    EXPECT_EQ(row["fp32_wrong_config_right"], mine.accuracy.vs_fp32->other_only) << config;
    EXPECT_EQ(row["delta_significant"], mine.accuracy.vs_fp32->significant()) << config;
    EXPECT_DOUBLE_EQ(row["delta_top1_ci_low_pts"].get<double>(), mine.accuracy.vs_fp32->ci_low * 100) << config;
    EXPECT_DOUBLE_EQ(row["delta_top1_ci_high_pts"].get<double>(), mine.accuracy.vs_fp32->ci_high * 100) << config;
  }
  ASSERT_EQ(Cli("acme", {"compare", name}, &out), 0);
  EXPECT_THAT(out, HasSubstr("w8a8"));
  EXPECT_THAT(out, HasSubstr("P50(ms) [CI]"));
  EXPECT_THAT(out, HasSubstr("TIES"));
  EXPECT_THAT(out, HasSubstr("dTOP1(pts) [95% CI]"));
  EXPECT_THAT(out, ::testing::ContainsRegex(R"([0-9]\.[0-9]{3} \[[0-9]+\.[0-9]{3}, [0-9]+\.[0-9]{3}\])"));

  // export the W8A8 model: a QDQ ONNX file the engine can import again.
  const std::string onnx = lab_->dir() + "/w8a8.onnx";
  ASSERT_EQ(Cli("acme", {"export", name, "--config", "w8a8", "-o", onnx}, &out), 0) << out;
  EXPECT_GT(std::filesystem::file_size(onnx), 1000u);
}

// Finding 10 (issue 17): a fixed-batch model whose batch (4) is not among the job's batch
// sizes ([1]) gets no latency rows, yet its configurations' accuracy reaches the service,
// equal to the local runner's.
TEST_F(ServiceTest, FixedBatchModelWithoutLatencyRowsKeepsItsAccuracy) {
  StartWorker("w1");
  onnx::ModelProto model;
  {
    std::ifstream in(SourceDir() + "/models/fashion_mnist/cnn_bn.onnx", std::ios::binary);
    ASSERT_TRUE(model.ParseFromIstream(&in));
  }
  for (auto* io : {model.mutable_graph()->mutable_input(0), model.mutable_graph()->mutable_output(0)})
    io->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_value(4);
  const std::string model_path = lab_->dir() + "/cnn_bn_batch4.onnx";
  {
    std::ofstream out(model_path, std::ios::binary);
    ASSERT_TRUE(model.SerializeToOstream(&out));
  }
  nlohmann::json spec = nlohmann::json::parse(SmallSpec({"fp32", "w8a8"}, 64, {1}));
  spec["model"] = model_path;
  const std::string spec_path = lab_->dir() + "/fixed.json";
  std::ofstream(spec_path) << spec.dump();
  std::string out;
  ASSERT_EQ(Cli("acme", {"submit", spec_path, "--wait"}, &out), 0) << out << ReadTextFile(lab_->dir() + "/cli.log");
  std::string name;
  for (absl::string_view l : absl::StrSplit(out, '\n'))
    if (absl::StartsWith(l, "jobs/") && name.empty()) name = std::string(l.substr(0, l.find(' ')));
  ASSERT_FALSE(name.empty()) << out;
  v1::JobResults results = Results("acme", name);
  ASSERT_EQ(results.configs_size(), 2);

  auto local_spec = ParseJobSpec(spec.dump(), "/");
  ASSERT_TRUE(local_spec.ok()) << local_spec.status();
  auto local = RunJob(*local_spec);
  ASSERT_TRUE(local.ok()) << local.status();
  ASSERT_EQ(local->configs.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const v1::ConfigResult& remote = results.configs(i);
    const ConfigResult& mine = local->configs[i];
    SCOPED_TRACE(remote.config());
    ASSERT_TRUE(mine.latency.empty()) << "batch 4 is not among batch_sizes [1]";
    EXPECT_EQ(remote.latency_size(), 0);
    EXPECT_EQ(remote.error(), "");
    EXPECT_EQ(remote.samples(), 64);
    EXPECT_GT(mine.accuracy.top1, 0.5);
    EXPECT_EQ(remote.top1(), mine.accuracy.top1);
    EXPECT_EQ(remote.top5(), mine.accuracy.top5);
    EXPECT_EQ(remote.model_size_bytes(), mine.model_bytes);
    EXPECT_EQ(remote.device(), "workers/w1/devices/cpu0");
    if (i == 1) {
      EXPECT_EQ(remote.agreement_with_fp32(), mine.accuracy.agreement);
      EXPECT_DOUBLE_EQ(remote.top1_delta_vs_fp32(), mine.accuracy.top1 - local->configs[0].accuracy.top1);
    }
  }
  ASSERT_EQ(Cli("acme", {"compare", name, "--format", "json"}, &out), 0) << out;
  const nlohmann::json rows = nlohmann::json::parse(out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_DOUBLE_EQ(rows[1]["top1_pct"].get<double>(), local->configs[1].accuracy.top1 * 100);
}

// Finding 9 (issue 17): configuration names with a quote and with non-ASCII letters are
// stored, run and reported under their exact names (hand-escaped JSON failed with
// PostgreSQL's own error text).
TEST_F(ServiceTest, ConfigNamesWithQuotesAndUmlautsRunThrough) {
  StartWorker("w1");
  nlohmann::json spec = nlohmann::json::parse(SmallSpec({"fp32"}, 64, {1}, 0.01, 64));
  spec["configs"] = nlohmann::json::array(
      {"fp32", {{"name", "bob's w8"}, {"preset", "w8a8"}}, {{"name", "größe-w4 \"quoted\" \\ back"}, {"preset", "w4a8"}}});
  grpc::Status s;
  const v1::Job job = Create("acme", spec.dump(), "", &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_THAT(s.error_message(), ::testing::Not(HasSubstr("SQLSTATE")));
  auto done = lab_->WaitForEnd(lab_->token("acme"), job.name(), absl::Seconds(120));
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state(), v1::SUCCEEDED) << done->failure_reason();
  v1::JobResults r = Results("acme", job.name());
  ASSERT_EQ(r.configs_size(), 3);
  EXPECT_EQ(r.configs(1).config(), "bob's w8");
  EXPECT_EQ(r.configs(2).config(), "größe-w4 \"quoted\" \\ back");
  EXPECT_EQ(nlohmann::json::parse(r.configs(2).config_json())["name"], "größe-w4 \"quoted\" \\ back");
  EXPECT_GT(r.configs(1).top1(), 0.5);
}

// Two workers, many small jobs: each runs exactly once (one attempt, one set of rows).
TEST_F(ServiceTest, TwoWorkersRunEveryJobExactlyOnce) {
  StartWorker("w1");
  StartWorker("w2");
  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) names.push_back(Create("acme", SmallSpec({"fp32"}, 64, {1}, 0.01)).name());
  std::set<std::string> workers;
  for (const std::string& n : names) {
    auto job = lab_->WaitForEnd(lab_->token("acme"), n, absl::Seconds(240));
    ASSERT_TRUE(job.ok()) << job.status();
    EXPECT_EQ(job->state(), v1::SUCCEEDED) << n << ": " << job->failure_reason();
    EXPECT_EQ(job->attempts(), 1) << n;
    workers.insert(job->worker());
    v1::JobResults r = Results("acme", n);
    ASSERT_EQ(r.configs_size(), 1) << n;
    EXPECT_EQ(r.configs(0).latency_size(), 1) << n;
  }
  EXPECT_EQ(workers.size(), 2u) << "both workers took jobs";
}

// kill -9 a worker in the middle of a job: after the lease the job runs again on the other
// worker and ends with exactly one row per configuration and batch size.
TEST_F(ServiceTest, KilledWorkersJobCompletesElsewhere) {
  const int w1 = StartWorker("w1");
  const std::string name = Create("acme", SmallSpec({"fp32", "w8a8"}, 2000, {1, 16}, 0.5)).name();
  auto running = lab_->WaitForProgress(lab_->token("acme"), name, absl::Seconds(120));
  ASSERT_TRUE(running.ok()) << running.status();
  lab_->worker(w1).Signal(SIGKILL);
  EXPECT_EQ(lab_->worker(w1).Wait(), 128 + SIGKILL);
  StartWorker("w2");
  auto job = lab_->WaitForEnd(lab_->token("acme"), name, absl::Seconds(240));
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->state(), v1::SUCCEEDED) << job->failure_reason();
  EXPECT_EQ(job->attempts(), 2);
  EXPECT_EQ(job->worker(), "workers/w2");
  v1::JobResults r = Results("acme", name);
  ASSERT_EQ(r.configs_size(), 2);
  for (const auto& c : r.configs()) {
    EXPECT_EQ(c.latency_size(), 2) << c.config();
    EXPECT_EQ(c.device(), "workers/w2/devices/cpu0") << "rows of the dead attempt were replaced";
  }
  // The history keeps why it was retried.
  v1::WatchJobRequest wreq;
  wreq.set_name(name);
  auto ctx = Lab::Context(lab_->token("acme"));
  auto reader = lab_->jobs().WatchJob(ctx.get(), wreq);
  v1::JobEvent e;
  bool lease_expired = false;
  while (reader->Read(&e))
    if (e.has_state_changed() && e.state_changed().reason().find("lease expired") != std::string::npos)
      lease_expired = true;
  EXPECT_TRUE(lease_expired);
}

// Issue 14, the crash test: a search's candidates are stored as they are measured; kill -9
// the worker mid-search and the job completes on another worker, which reuses the stored
// candidates instead of measuring them again (the size objective: every decision rests
// on accuracy and bytes, so the second attempt asks for the same candidates first).
TEST_F(ServiceTest, KilledSearchResumesFromStoredCandidatesElsewhere) {
  const int w1 = StartWorker("w1");
  nlohmann::json spec = nlohmann::json::parse(SmallSpec({"fp32"}, 1000, {16}, 0.05, 256));
  spec["validation"] = {{"samples", 500}, {"seed", 0}};
  spec["search"] = {{"max_drop", 1.0},
                    {"objective", "size"},
                    {"batch_size", 16},
                    {"choices", {"fp32", "w8a8", "w4a8", "w2a8"}},
                    {"budget", {{"evaluations", 24}}},
                    {"latency", {{"warmup_iters", 1}, {"min_iters", 3}, {"min_seconds", 0.02}}}};
  const std::string name = Create("acme", spec.dump()).name();
  // Wait for some candidates, then kill the worker that stored them.
  int stored = 0;
  for (absl::Time until = absl::Now() + absl::Seconds(180); absl::Now() < until && stored < 8;) {
    absl::SleepFor(absl::Milliseconds(100));
    stored = Results("acme", name).search().candidates_size();
  }
  ASSERT_GE(stored, 8) << "the search stores candidates as it measures them";
  lab_->worker(w1).Signal(SIGKILL);
  EXPECT_EQ(lab_->worker(w1).Wait(), 128 + SIGKILL);
  const v1::JobResults at_kill = Results("acme", name);
  const int killed_with = at_kill.search().candidates_size();
  EXPECT_FALSE(at_kill.search().finished());
  StartWorker("w2");
  auto job = lab_->WaitForEnd(lab_->token("acme"), name, absl::Seconds(300));
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_EQ(job->state(), v1::SUCCEEDED) << job->failure_reason();
  EXPECT_EQ(job->attempts(), 2);
  EXPECT_EQ(job->worker(), "workers/w2");
  const v1::JobResults r = Results("acme", name);
  ASSERT_TRUE(r.has_search());
  const v1::SearchResults& s = r.search();
  EXPECT_TRUE(s.finished());
  std::cerr << "crash test: " << killed_with << " candidates stored when the worker was killed; the second attempt "
            << "reused " << s.reused() << " and measured " << s.candidates_size() - killed_with << " more ("
            << s.candidates_size() << " in all)\n";
  EXPECT_GE(s.reused(), killed_with) << "every candidate the first attempt stored is reused, none measured again";
  int first_attempt = 0, front = 0;
  std::set<std::string> keys;
  for (const v1::SearchCandidate& c : s.candidates()) {
    first_attempt += c.attempt() == 1;
    front += c.on_front();
    EXPECT_TRUE(keys.insert(c.key()).second) << "one row per candidate: " << c.key();
    EXPECT_EQ(c.assignment_size(), s.layers_size()) << c.key();
    EXPECT_EQ(c.worker(), c.attempt() == 1 ? "workers/w1" : "workers/w2") << c.key();
  }
  EXPECT_EQ(first_attempt, killed_with) << "the reused rows keep who measured them";
  EXPECT_GT(front, 0);
  ASSERT_FALSE(s.best_key().empty());
  // The chosen candidate was re-measured on the test split as "search:best", within
  // the budget on validation, and smaller than the fallback baseline.
  const v1::SearchCandidate* best = nullptr;
  const v1::SearchCandidate* fallback = nullptr;
  for (const v1::SearchCandidate& c : s.candidates()) {
    if (c.key() == s.best_key()) best = &c;
    if (c.key() == s.fallback_key()) fallback = &c;
  }
  ASSERT_NE(best, nullptr);
  EXPECT_TRUE(best->within_budget());
  EXPECT_TRUE(best->on_front());
  if (fallback) {
    EXPECT_LE(best->model_size_bytes(), fallback->model_size_bytes());
  }
  bool measured = false;
  for (const auto& c : r.configs())
    if (c.config() == "search:best") measured = c.latency_size() == 1 && c.samples() > 0;
  EXPECT_TRUE(measured) << "search:best has its test-split results";
  // The CLI shows the front and plots it.
  std::string out;
  const std::string svg = lab_->dir() + "/front.svg";
  ASSERT_EQ(Cli("acme", {"compare", name, "--plot", svg}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("BEST"));
  // The rule the budget was judged by comes from the stored spec (the default here).
  EXPECT_THAT(out, HasSubstr("search: max drop 1.00 points (validation, measured drop)"));
  std::cerr << out;
  // The watch replays the search's progress: each candidate, the best so far, the front.
  ASSERT_EQ(Cli("acme", {"watch", name}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("search:best EVALUATING"));
  EXPECT_THAT(out, HasSubstr("best so far"));
  EXPECT_THAT(out, HasSubstr("on the front"));
  const std::string plot = ReadTextFile(svg);
  EXPECT_THAT(plot, HasSubstr("<svg"));
  EXPECT_THAT(plot, HasSubstr(">best<"));
  // Every candidate as JSON for scripts, with numbers where the API has counts.
  const std::string cand = lab_->dir() + "/candidates.json";
  ASSERT_EQ(Cli("acme", {"compare", name, "--candidates", cand}, &out), 0) << out;
  const nlohmann::json cj = nlohmann::json::parse(ReadTextFile(cand));
  EXPECT_EQ(cj["job"], name);
  EXPECT_EQ(cj["best_key"], s.best_key());
  ASSERT_EQ(cj["candidates"].size(), static_cast<size_t>(s.candidates_size()));
  EXPECT_EQ(cj["candidates"][0]["key"], s.candidates(0).key());
  EXPECT_EQ(cj["candidates"][0]["model_size_bytes"], s.candidates(0).model_size_bytes());
  EXPECT_EQ(cj["reused"], s.reused());
  // Another team sees none of it.
  v1::GetResultsRequest req;
  req.set_name(name);
  v1::JobResults other;
  auto ctx = Lab::Context(lab_->token("beta"));
  EXPECT_FALSE(lab_->jobs().GetResults(ctx.get(), req, &other).ok());
  EXPECT_EQ(other.search().candidates_size(), 0);
}

TEST_F(ServiceTest, CancelQueuedAndRunningJobs) {
  // Queued (no worker yet): cancelled at once.
  const std::string queued = Create("acme", SmallSpec({"fp32"}, 64, {1})).name();
  v1::CancelJobRequest creq;
  creq.set_name(queued);
  v1::Job job;
  auto ctx = Lab::Context(lab_->token("acme"));
  ASSERT_TRUE(lab_->jobs().CancelJob(ctx.get(), creq, &job).ok());
  EXPECT_EQ(job.state(), v1::CANCELLED);

  // Running: cancelling, then cancelled within seconds.
  StartWorker("w1");
  const std::string running = Create("acme", SmallSpec({"fp32", "w8a8"}, 5000, {1, 16}, 1.0)).name();
  ASSERT_TRUE(lab_->WaitForProgress(lab_->token("acme"), running, absl::Seconds(120)).ok());
  std::string out;
  const absl::Time asked = absl::Now();
  EXPECT_EQ(Cli("acme", {"cancel", running}, &out), 0) << out;
  auto ended = lab_->WaitForEnd(lab_->token("acme"), running, absl::Seconds(60));
  ASSERT_TRUE(ended.ok()) << ended.status();
  EXPECT_EQ(ended->state(), v1::CANCELLED);
  EXPECT_LT(absl::Now() - asked, absl::Seconds(15)) << "cancel stops a running job within seconds";
  // Cancelling a finished job is a precondition failure; the worker is free again.
  ctx = Lab::Context(lab_->token("acme"));
  creq.set_name(running);
  EXPECT_EQ(lab_->jobs().CancelJob(ctx.get(), creq, &job).error_code(), grpc::StatusCode::OK)
      << "cancelled stays cancelled";
  const std::string next = Create("acme", SmallSpec({"fp32"}, 64, {1}, 0.01)).name();
  auto done = lab_->WaitForEnd(lab_->token("acme"), next, absl::Seconds(120));
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state(), v1::SUCCEEDED);
  ctx = Lab::Context(lab_->token("acme"));
  creq.set_name(next);
  EXPECT_EQ(lab_->jobs().CancelJob(ctx.get(), creq, &job).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ServiceTest, RequestIdMakesSubmitIdempotent) {
  const std::string spec = SmallSpec({"fp32"}, 64, {1});
  const v1::Job a = Create("acme", spec, "retry-7f3a");
  const v1::Job b = Create("acme", spec, "retry-7f3a");
  EXPECT_EQ(a.name(), b.name());
  // Another team may use the same id for its own job.
  const v1::Job c = Create("beta", spec, "retry-7f3a");
  EXPECT_NE(c.name(), a.name());
  grpc::Status s;
  Create("acme", SmallSpec({"fp32", "w8a8"}, 64, {1}), "retry-7f3a", &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(s.error_message(), HasSubstr("request_id"));
  v1::ListJobsRequest lreq;
  v1::ListJobsResponse list;
  auto ctx = Lab::Context(lab_->token("acme"));
  ASSERT_TRUE(lab_->jobs().ListJobs(ctx.get(), lreq, &list).ok());
  EXPECT_EQ(list.jobs_size(), 1);
}

TEST_F(ServiceTest, TeamsSeeOnlyTheirOwnJobsAndBlobs) {
  const std::string name = Create("acme", SmallSpec({"fp32"}, 64, {1})).name();
  v1::GetJobRequest g;
  g.set_name(name);
  v1::Job job;
  auto ctx = Lab::Context(lab_->token("beta"));
  EXPECT_EQ(lab_->jobs().GetJob(ctx.get(), g, &job).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::CancelJobRequest c;
  c.set_name(name);
  ctx = Lab::Context(lab_->token("beta"));
  EXPECT_EQ(lab_->jobs().CancelJob(ctx.get(), c, &job).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::GetResultsRequest r;
  r.set_name(name);
  v1::JobResults results;
  ctx = Lab::Context(lab_->token("beta"));
  EXPECT_EQ(lab_->jobs().GetResults(ctx.get(), r, &results).error_code(), grpc::StatusCode::NOT_FOUND);
  ctx = Lab::Context("");
  EXPECT_EQ(lab_->jobs().GetJob(ctx.get(), g, &job).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ctx = Lab::Context("qbt_" + std::string(64, '0'));
  EXPECT_EQ(lab_->jobs().GetJob(ctx.get(), g, &job).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  std::string out;
  EXPECT_EQ(Cli("beta", {"show", name}, &out), 4) << "exit code 4: not found";

  // acme uploads a model; beta can neither download it nor run a job on it.
  client::Connection acme{lab_->address(), true, "", lab_->token("acme")};
  auto up = client::UploadFile(acme, SourceDir() + "/models/fashion_mnist/cnn_bn.onnx");
  ASSERT_TRUE(up.ok()) << up.status();
  client::Connection beta{lab_->address(), true, "", lab_->token("beta")};
  EXPECT_EQ(client::DownloadBlob(beta, up->sha256, lab_->dir() + "/stolen.onnx").code(), absl::StatusCode::kNotFound);
  v1::CreateJobRequest req;
  req.set_spec_json(SmallSpec({"fp32"}, 64, {1}));
  req.mutable_model()->set_blob("blobs/" + up->sha256);
  ctx = Lab::Context(lab_->token("beta"));
  grpc::Status s = lab_->jobs().CreateJob(ctx.get(), req, &job);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("model.blob"));
  // Admin calls need an admin token.
  v1::CreateTeamRequest t;
  t.set_team_id("gamma");
  v1::Team team;
  ctx = Lab::Context(lab_->token("acme"));
  EXPECT_EQ(lab_->admin().CreateTeam(ctx.get(), t, &team).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  ctx = Lab::Context(lab_->token("admin"));
  EXPECT_TRUE(lab_->admin().CreateTeam(ctx.get(), t, &team).ok());
}

// Issue 17, finding 11: CreateToken ignored the token's expire_time, so a token meant to
// last an hour worked for ever. Now a past expiry is refused and a token stops working
// once its expiry passes.
TEST_F(ServiceTest, TokensStopWorkingAtTheirExpireTime) {
  v1::CreateTokenRequest req;
  req.set_parent("teams/acme");
  req.mutable_token()->set_display_name("short-lived");
  req.mutable_token()->mutable_expire_time()->set_seconds(absl::ToUnixSeconds(absl::Now()) - 60);
  v1::CreateTokenResponse resp;
  auto ctx = Lab::Context(lab_->token("admin"));
  grpc::Status s = lab_->admin().CreateToken(ctx.get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("expire_time"));

  const absl::Time expiry = absl::Now() + absl::Seconds(2);
  req.mutable_token()->mutable_expire_time()->set_seconds(absl::ToUnixSeconds(expiry));
  req.mutable_token()->mutable_expire_time()->set_nanos(0);
  ctx = Lab::Context(lab_->token("admin"));
  ASSERT_TRUE(lab_->admin().CreateToken(ctx.get(), req, &resp).ok());
  EXPECT_EQ(resp.token().expire_time().seconds(), absl::ToUnixSeconds(expiry));
  v1::ListJobsRequest list;
  v1::ListJobsResponse jobs;
  ctx = Lab::Context(resp.secret());
  s = lab_->jobs().ListJobs(ctx.get(), list, &jobs);
  EXPECT_TRUE(s.ok()) << s.error_message();
  absl::SleepFor(absl::FromUnixSeconds(absl::ToUnixSeconds(expiry)) - absl::Now() + absl::Milliseconds(300));
  ctx = Lab::Context(resp.secret());
  EXPECT_EQ(lab_->jobs().ListJobs(ctx.get(), list, &jobs).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

// Issue 17, finding 11: workers used a global admin token. Now a worker token reads the
// blobs of jobs that workers are running, and nothing else: not a blob no running job
// names, not the Admin service; a token is never both admin and worker.
TEST_F(ServiceTest, WorkerTokensReadOnlyTheBlobsOfRunningJobs) {
  client::Connection acme{lab_->address(), true, "", lab_->token("acme")};
  client::Connection worker{lab_->address(), true, "", lab_->token("worker")};
  auto up = client::UploadFile(acme, SourceDir() + "/models/fashion_mnist/cnn_bn.onnx");
  ASSERT_TRUE(up.ok()) << up.status();
  const std::string file = lab_->dir() + "/downloaded.onnx";
  EXPECT_EQ(client::DownloadBlob(worker, up->sha256, file).code(), absl::StatusCode::kNotFound)
      << "no job names the blob yet";
  v1::CreateTeamRequest t;
  t.set_team_id("delta");
  v1::Team team;
  auto ctx = Lab::Context(lab_->token("worker"));
  EXPECT_EQ(lab_->admin().CreateTeam(ctx.get(), t, &team).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::CreateTokenRequest both;
  both.set_parent("teams/lab");
  both.mutable_token()->set_admin(true);
  both.mutable_token()->set_worker(true);
  v1::CreateTokenResponse made;
  ctx = Lab::Context(lab_->token("admin"));
  EXPECT_EQ(lab_->admin().CreateToken(ctx.get(), both, &made).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // While a job that names it runs, the worker token reads it; the job succeeds (its
  // worker downloaded the model with that token).
  StartWorker("w1");
  v1::CreateJobRequest req;
  nlohmann::json spec = nlohmann::json::parse(SmallSpec({"fp32"}, 2000, {1, 16}, 0.5));
  spec.erase("model");
  req.set_spec_json(spec.dump());
  req.mutable_model()->set_blob("blobs/" + up->sha256);
  v1::Job job;
  ctx = Lab::Context(lab_->token("acme"));
  ASSERT_TRUE(lab_->jobs().CreateJob(ctx.get(), req, &job).ok());
  ASSERT_TRUE(lab_->WaitForProgress(lab_->token("acme"), job.name(), absl::Seconds(120)).ok());
  EXPECT_TRUE(client::DownloadBlob(worker, up->sha256, file).ok());
  auto done = lab_->WaitForEnd(lab_->token("acme"), job.name(), absl::Seconds(240));
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state(), v1::SUCCEEDED) << done->failure_reason();
  EXPECT_EQ(client::DownloadBlob(worker, up->sha256, file).code(), absl::StatusCode::kNotFound)
      << "the job ended: its blobs are no longer the workers' to read";
}

TEST_F(ServiceTest, MalformedRequestsGetTheRightCodeAndTheServerKeepsServing) {
  struct Case {
    const char* what;
    std::string spec;
    const char* field;
  };
  nlohmann::json base = nlohmann::json::parse(SmallSpec({"fp32", "w8a8"}, 64, {1}));
  nlohmann::json no_model = base;
  no_model.erase("model");
  nlohmann::json unknown_config = base;
  unknown_config["configs"] = {"fp32", "w9a9x"};
  nlohmann::json bits = base;
  bits["configs"] = nlohmann::json::array({"fp32", {{"name", "w1"}, {"weights", {{"bits", 1}}}}});
  const Case cases[] = {{"missing model", no_model.dump(), "model"},
                        {"unknown config", unknown_config.dump(), "w9a9x"},
                        {"bits out of range", bits.dump(), "bits"},
                        {"not JSON", "{", "spec_json"}};
  for (const Case& c : cases) {
    grpc::Status s;
    Create("acme", c.spec, "", &s);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.what;
    EXPECT_THAT(s.error_message(), HasSubstr(c.field)) << c.what;
  }
  // A wrong digest and an oversized upload.
  const std::string file = lab_->dir() + "/blob.bin";
  std::ofstream(file) << std::string(4096, 'q');
  v1::UploadResponse resp;
  {
    auto ctx = Lab::Context(lab_->token("acme"));
    auto writer = lab_->blobs().Upload(ctx.get(), &resp);
    v1::UploadRequest req;
    req.mutable_header()->set_sha256(std::string(64, 'a'));
    req.mutable_header()->set_size_bytes(4096);
    req.set_data(std::string(4096, 'q'));
    writer->Write(req);
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("digest"));
  }
  {
    auto ctx = Lab::Context(lab_->token("acme"));
    auto writer = lab_->blobs().Upload(ctx.get(), &resp);
    v1::UploadRequest req;
    req.mutable_header()->set_sha256(std::string(64, 'b'));
    req.mutable_header()->set_size_bytes(int64_t{1} << 40);
    writer->Write(req);
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("size_bytes"));
  }
  // Unknown job, bad names and a bad page token.
  v1::GetJobRequest g;
  v1::Job job;
  g.set_name("jobs/999999");
  auto ctx = Lab::Context(lab_->token("acme"));
  EXPECT_EQ(lab_->jobs().GetJob(ctx.get(), g, &job).error_code(), grpc::StatusCode::NOT_FOUND);
  g.set_name("job/1");
  ctx = Lab::Context(lab_->token("acme"));
  EXPECT_EQ(lab_->jobs().GetJob(ctx.get(), g, &job).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListJobsRequest l;
  l.set_page_token("garbage!");
  v1::ListJobsResponse list;
  ctx = Lab::Context(lab_->token("acme"));
  EXPECT_EQ(lab_->jobs().ListJobs(ctx.get(), l, &list).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // Still serving.
  Create("acme", SmallSpec({"fp32"}, 64, {1}));
}

// A positive count from the environment (QB_CHAOS_*), else `fallback`.
int EnvCount(const char* name, int fallback) {
  const char* v = std::getenv(name);
  int n = 0;
  return v != nullptr && absl::SimpleAtoi(v, &n) && n > 0 ? n : fallback;
}

// Issue 17, the chaos test. Small jobs on two workers; a worker running a job is killed
// with SIGKILL, again and again (each time a fresh worker takes its place), and halfway
// PostgreSQL is restarted at once. Every job must end SUCCEEDED, or FAILED with a reason
// after its attempts; each (job, configuration, batch size) has exactly one result row;
// a killed worker's job is taken back within the lease + 5 s. QB_CHAOS_JOBS and
// QB_CHAOS_KILLS scale it (bench/chaos.sh runs a larger one).
TEST_F(ServiceTest, ChaosKillsAndARestartLoseAndDuplicateNothing) {
  const int n_jobs = EnvCount("QB_CHAOS_JOBS", 6), n_kills = EnvCount("QB_CHAOS_KILLS", 3);
  std::map<std::string, int> workers;  // "workers/<id>" -> lab index, live ones
  int next_id = 0;
  const auto start = [&] {
    const std::string id = absl::StrCat("c", ++next_id);
    workers["workers/" + id] = StartWorker(id);
  };
  start();
  start();
  std::vector<std::string> names;
  for (int i = 0; i < n_jobs; ++i)
    names.push_back(Create("acme", SmallSpec({"fp32", "w8a8"}, 400, {1, 8}, 0.3)).name());
  const auto get = [&](const std::string& name) {
    v1::GetJobRequest req;
    req.set_name(name);
    v1::Job job;
    auto ctx = Lab::Context(lab_->token("acme"));
    return lab_->jobs().GetJob(ctx.get(), req, &job).ok() ? job : v1::Job();
  };
  const absl::Duration lease = absl::Seconds(LabOptions{}.lease_seconds);
  absl::Duration worst_rescue;
  int kills = 0, restarts = 0;
  for (int k = 0; k < n_kills; ++k) {
    // A job running on a live worker, past its first progress report.
    v1::Job victim;
    for (absl::Time until = absl::Now() + absl::Seconds(120); victim.name().empty() && absl::Now() < until;) {
      for (const std::string& n : names) {
        v1::Job j = get(n);
        if (j.state() == v1::RUNNING && workers.count(j.worker()) && j.progress_size() > 0) {
          victim = j;
          break;
        }
      }
      if (victim.name().empty()) absl::SleepFor(absl::Milliseconds(100));
    }
    if (victim.name().empty()) break;  // every job already ended
    lab_->worker(workers[victim.worker()]).Signal(SIGKILL);
    lab_->worker(workers[victim.worker()]).Wait();
    const absl::Time killed = absl::Now();
    workers.erase(victim.worker());
    ++kills;
    start();
    if (k == n_kills / 2) {  // an immediate restart while the lease of the dead worker runs
      ASSERT_TRUE(lab_->pg().Stop().ok());
      ASSERT_TRUE(lab_->pg().Restart().ok());
      ++restarts;
    }
    // Taken back: queued again, claimed by another attempt, or failed after its last one.
    for (;;) {
      const v1::Job j = get(victim.name());
      if (j.state() != v1::RUNNING || j.attempts() > victim.attempts()) break;
      if (absl::Now() - killed > lease + absl::Seconds(60)) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    worst_rescue = std::max(worst_rescue, absl::Now() - killed);
  }
  int succeeded = 0, failed = 0;
  for (const std::string& n : names) {
    auto job = lab_->WaitForEnd(lab_->token("acme"), n, absl::Seconds(600));
    ASSERT_TRUE(job.ok()) << n << ": " << job.status();
    if (job->state() == v1::SUCCEEDED) {
      ++succeeded;
      v1::JobResults r = Results("acme", n);
      EXPECT_EQ(r.configs_size(), 2) << n;
      for (const auto& c : r.configs()) {
        EXPECT_EQ(c.latency_size(), 2) << n << " " << c.config();
        EXPECT_TRUE(absl::StartsWith(c.device(), job->worker() + "/devices/"))
            << n << ": " << c.device() << " is not the final attempt's worker " << job->worker();
      }
    } else {
      ++failed;
      EXPECT_EQ(job->state(), v1::FAILED) << n;
      EXPECT_FALSE(job->failure_reason().empty()) << n;
      EXPECT_EQ(job->attempts(), 3) << n << " failed before its last attempt: " << job->failure_reason();
    }
  }
  pqxx::connection c{lab_->pg().Uri()};
  pqxx::work w{c};
  const int64_t duplicated =
      w.exec1("SELECT count(*) FROM (SELECT 1 FROM results GROUP BY job_id, config_id, batch_size "
              "HAVING count(*) > 1) d")[0].as<int64_t>();
  std::cerr << "chaos: " << names.size() << " jobs, " << kills << " kills, " << restarts << " restarts; "
            << succeeded << " succeeded, " << failed << " failed after their attempts, 0 lost; " << duplicated
            << " duplicated (job, config, batch) groups; worst rescue " << absl::FormatDuration(worst_rescue)
            << " (lease " << absl::FormatDuration(lease) << ")\n";
  EXPECT_EQ(duplicated, 0);
  EXPECT_GE(kills, 1);
  EXPECT_LE(worst_rescue, lease + absl::Seconds(5));
}

// Stop PostgreSQL while jobs run and others are queued, start it again: the server and
// the worker reconnect and every job the server acknowledged completes.
TEST_F(ServiceTest, PostgresRestartLosesNoAcknowledgedJob) {
  StartWorker("w1");
  std::vector<std::string> names;
  for (int i = 0; i < 3; ++i) names.push_back(Create("acme", SmallSpec({"fp32", "w8a8"}, 500, {1, 8}, 0.3)).name());
  ASSERT_TRUE(lab_->WaitForProgress(lab_->token("acme"), names[0], absl::Seconds(120)).ok());
  ASSERT_TRUE(lab_->pg().Stop().ok());
  // While the database is down, a submit is refused (UNAVAILABLE), never silently dropped.
  grpc::Status down;
  Create("acme", SmallSpec({"fp32"}, 64, {1}), "during-outage", &down);
  EXPECT_EQ(down.error_code(), grpc::StatusCode::UNAVAILABLE) << down.error_message();
  // Our words only: no libpq text (host, port, socket) and no SQLSTATE (finding 9).
  EXPECT_THAT(down.error_message(), HasSubstr("the database is unavailable"));
  for (const char* leak : {"SQLSTATE", "could not", "refused", "port", "127.0.0.1", "server closed", "socket"})
    EXPECT_THAT(down.error_message(), ::testing::Not(HasSubstr(leak))) << down.error_message();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  ASSERT_TRUE(lab_->pg().Restart().ok());
  for (const std::string& n : names) {
    auto job = lab_->WaitForEnd(lab_->token("acme"), n, absl::Seconds(300));
    ASSERT_TRUE(job.ok()) << job.status();
    EXPECT_EQ(job->state(), v1::SUCCEEDED) << n << ": " << job->failure_reason();
    v1::JobResults r = Results("acme", n);
    EXPECT_EQ(r.configs_size(), 2) << n;
  }
  // The retried submit goes through now.
  grpc::Status after;
  Create("acme", SmallSpec({"fp32"}, 64, {1}), "during-outage", &after);
  EXPECT_TRUE(after.ok()) << after.error_message();
}

TEST_F(ServiceTest, DevicesListsWorkersFromHeartbeats) {
  StartWorker("w1");
  v1::ListDevicesResponse resp;
  for (int i = 0; i < 100 && resp.workers_size() == 0; ++i) {
    auto ctx = Lab::Context(lab_->token("beta"));
    v1::ListDevicesRequest req;
    ASSERT_TRUE(lab_->devices().ListDevices(ctx.get(), req, &resp).ok());
    if (resp.workers_size() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_EQ(resp.workers_size(), 1);
  const v1::Worker& w = resp.workers(0);
  EXPECT_EQ(w.name(), "workers/w1");
  EXPECT_TRUE(w.online());
  EXPECT_GT(w.cores(), 0);
  EXPECT_FALSE(w.isa().empty());
  EXPECT_FALSE(w.onednn_version().empty());
  ASSERT_GE(w.devices_size(), 1);
  EXPECT_EQ(w.devices(0).name(), "workers/w1/devices/cpu0");
  // A job for a device class no worker has stays queued; one for the worker's device runs.
  v1::CreateJobRequest req;
  req.set_spec_json(SmallSpec({"fp32"}, 64, {1}, 0.01));
  req.mutable_device()->set_device_class("gpu-h100");
  v1::Job gpu;
  auto ctx = Lab::Context(lab_->token("beta"));
  ASSERT_TRUE(lab_->jobs().CreateJob(ctx.get(), req, &gpu).ok());
  req.mutable_device()->set_device("workers/w1/devices/cpu0");
  v1::Job cpu;
  ctx = Lab::Context(lab_->token("beta"));
  ASSERT_TRUE(lab_->jobs().CreateJob(ctx.get(), req, &cpu).ok());
  auto done = lab_->WaitForEnd(lab_->token("beta"), cpu.name(), absl::Seconds(120));
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state(), v1::SUCCEEDED);
  v1::GetJobRequest g;
  g.set_name(gpu.name());
  ctx = Lab::Context(lab_->token("beta"));
  ASSERT_TRUE(lab_->jobs().GetJob(ctx.get(), g, &gpu).ok());
  EXPECT_EQ(gpu.state(), v1::QUEUED);
}

}  // namespace
}  // namespace qbench::testing
