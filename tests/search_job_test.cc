// The search job end to end (issue 14) on our own Fashion-MNIST CNN: the real engine
// measures every candidate on the validation split; the chosen configuration is measured
// again in full; a second attempt given the first one's candidates measures nothing again.
#include <cmath>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "tests/test_paths.h"
#include "engine/pipeline/pipeline.h"

namespace qbench {
namespace {

std::string Fashion(const std::string& file) { return testing::SourceDir() + "/models/fashion_mnist/" + file; }

JobSpec SearchJob(const std::string& objective, const std::string& extra = "") {
  auto spec = ParseJobSpec(R"({"model": "cnn_bn.onnx", "eval_dataset": "dataset.json", "samples": 3000,
      "batch_sizes": [16], "threads": 1, "sensitivity": false, "sqnr_samples": 0, "profile_iters": 5,
      "latency": {"warmup_iters": 1, "warmup_seconds": 0, "min_iters": 3, "min_seconds": 0, "sessions": 1},
      "calibration": {"dataset": "train_dataset.json", "samples": 256},
      "validation": {"samples": 1000, "seed": 0},
      "search": {)" + extra + R"("max_drop": 0.5, "objective": ")" + objective + R"(", "batch_size": 16,
                 "choices": ["fp32", "w8a8", "w4a8", "w2a8"], "budget": {"evaluations": 24},
                 "latency": {"warmup_iters": 1, "min_iters": 3, "min_seconds": 0}}})",
                           testing::SourceDir() + "/models/fashion_mnist");
  EXPECT_TRUE(spec.ok()) << spec.status();
  return *spec;
}

const ConfigResult* Config(const JobResult& r, const std::string& name) {
  for (const ConfigResult& c : r.configs)
    if (c.config.name == name) return &c;
  return nullptr;
}

TEST(SearchJobTest, SizeSearchMeetsTheBudgetAndKeepsEveryCandidate) {
  const JobSpec spec = SearchJob("size");
  std::vector<search::Candidate> streamed;
  RunHooks hooks;
  // Progress counts each candidate before its stream event, so that a watcher's "N
  // candidates" line and its done count agree (they lagged by one).
  int64_t evaluating_done = 0;
  std::vector<int64_t> done_at_event;
  hooks.progress = [&](const std::string& config, RunStage stage, int64_t done, int64_t) {
    if (config == kSearchBestConfig && stage == RunStage::kEvaluating) evaluating_done = done;
  };
  hooks.candidate_done = [&](const search::Candidate& c, const std::vector<search::Choice>&) {
    streamed.push_back(c);
    done_at_event.push_back(evaluating_done);
  };
  auto r = RunJob(spec, hooks);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->search.has_value());
  const SearchResult& s = *r->search;
  ASSERT_EQ(s.layers.size(), 4u);  // 3 Conv + 1 Gemm
  ASSERT_EQ(s.choices.size(), 4u);
  // Signals: the uniform models and every layer alone at each non-FP32 choice.
  EXPECT_EQ(s.signal_evaluations, 4 + 4 * 3);
  EXPECT_LE(s.candidate_evaluations, 24);
  EXPECT_EQ(static_cast<int64_t>(streamed.size()), s.signal_evaluations + s.candidate_evaluations);
  for (size_t i = 0; i < done_at_event.size(); ++i) EXPECT_EQ(done_at_event[i], static_cast<int64_t>(i + 1));
  // A signal (untimed) that a strategy then wants timed is measured again under the same
  // key: the stream repeats the key, the candidates do not.
  std::set<std::string> streamed_keys;
  for (const search::Candidate& c : streamed) streamed_keys.insert(c.key);
  EXPECT_EQ(streamed_keys.size(), s.candidates.size());
  std::set<std::string> keys;
  for (const search::Candidate& c : s.candidates) {
    EXPECT_TRUE(keys.insert(c.key).second) << "measured twice: " << c.key;
    EXPECT_EQ(c.samples, 1000);
  }
  // All-FP32 through the quantizer is FP32 itself: not a sample differs.
  const search::Candidate& fp32 = s.candidates[0];
  EXPECT_EQ(fp32.strategy, "uniform");
  EXPECT_EQ(fp32.drop_points, 0);
  EXPECT_TRUE(std::isinf(fp32.output_sqnr_db));
  EXPECT_NEAR(fp32.objective, 1.0, 1e-9);
  // Isolated W2 costs more than W8 on every layer; EAGL's entropy is a number of bits.
  for (const search::LayerSignals& l : s.layers) {
    EXPECT_GT(l.isolated_drop[3], l.isolated_drop[1]) << l.node;
    EXPECT_LT(l.bytes[2], l.bytes[1]) << l.node;
    EXPECT_GT(l.entropy8_bits, 1) << l.node;
    EXPECT_LE(l.entropy8_bits, 8) << l.node;
    EXPECT_LE(l.entropy_bits[3], 2 + 1e-9) << l.node;
  }
  // The best candidate: within budget on validation, on the front, smaller than the
  // fallback's (all W8A8 here) and measured again in full on the test split.
  ASSERT_TRUE(s.best_id.has_value());
  const search::Candidate& best = s.candidates[*s.best_id];
  EXPECT_TRUE(best.within_budget);
  EXPECT_LE(best.drop_points, 0.5);
  EXPECT_TRUE(best.on_front);
  ASSERT_TRUE(s.fallback_id.has_value());
  EXPECT_LT(best.bytes, s.candidates[*s.fallback_id].bytes);
  const ConfigResult* full = Config(*r, s.best_config);
  ASSERT_NE(full, nullptr);
  ASSERT_TRUE(full->error.empty()) << full->error;
  EXPECT_EQ(full->model_bytes, best.bytes);
  EXPECT_EQ(full->accuracy.samples, 2000);  // the test samples, not the validation ones
  ASSERT_TRUE(full->validation.has_value());
  EXPECT_NEAR(full->validation->top1, best.top1, 1e-12);  // the same model on the same samples
  EXPECT_EQ(full->config.overrides.size(), 4u);
  // Every strategy ran, and the front holds no dominated candidate.
  EXPECT_EQ(s.strategies.size(), 4u);
  for (const search::Candidate& a : s.candidates)
    for (const search::Candidate& b : s.candidates)
      if (a.on_front && b.timed)
        EXPECT_FALSE(b.drop_points < a.drop_points && b.objective < a.objective) << a.key << " vs " << b.key;
  // The JSON carries it all.
  const nlohmann::json j = ToJson(*r);
  EXPECT_EQ(j["search"]["candidates"].size(), s.candidates.size());
  EXPECT_EQ(j["search"]["best"], *s.best_id);

  // A second attempt (a worker that died mid-search is replaced) that finds the first
  // one's candidates stored measures none of them again, and chooses the same.
  std::map<std::string, search::Candidate> stored;
  for (const search::Candidate& c : streamed) {  // through JSON, as the store keeps them
    search::Candidate back;
    ASSERT_TRUE(search::CandidateFromJson(search::CandidateToJson(c), &back)) << c.key;
    stored[c.key] = back;
  }
  RunHooks again;
  int64_t measured_again = 0;
  again.stored_candidate = [&](const std::string& key) -> std::optional<search::Candidate> {
    auto it = stored.find(key);
    if (it == stored.end()) return std::nullopt;
    return it->second;
  };
  again.candidate_done = [&](const search::Candidate&, const std::vector<search::Choice>&) { ++measured_again; };
  auto r2 = RunJob(spec, again);
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(measured_again, 0);
  EXPECT_EQ(r2->search->reused, static_cast<int64_t>(s.candidates.size()));
  ASSERT_TRUE(r2->search->best_id.has_value());
  EXPECT_EQ(r2->search->candidates[*r2->search->best_id].key, best.key);
}

TEST(SearchJobTest, LatencySearchNeverPaysForW4) {
  // W4 and W2 layers run on the same int8 kernels as W8: for the latency objective they
  // are no rung of any ladder, so no strategy lowers a layer there.
  const JobSpec spec = SearchJob("latency");
  auto r = RunJob(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  const SearchResult& s = *r->search;
  for (const search::Candidate& c : s.candidates) {
    if (c.strategy == "uniform" || c.strategy == "signal" || c.strategy == "fallback") continue;
    for (int a : c.assignment) EXPECT_LT(a, 2) << c.strategy << " " << c.key;
  }
  ASSERT_TRUE(s.best_id.has_value());
  EXPECT_TRUE(s.candidates[*s.best_id].within_budget);
}

TEST(SearchJobTest, IntervalRuleBoundsTheUpperEndOfTheDropsInterval) {
  // "budget_rule": "interval": a candidate is within budget when the upper end of its
  // drop's 95% paired interval is, not its measured drop: a margin for the test split.
  const JobSpec spec = SearchJob("size", R"("budget_rule": "interval", )");
  ASSERT_EQ(spec.search.budget_rule, search::BudgetRule::kInterval);
  auto r = RunJob(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  const SearchResult& s = *r->search;
  int estimate_only = 0;  // within max_drop by the estimate, not by the interval
  for (const search::Candidate& c : s.candidates) {
    EXPECT_EQ(c.within_budget, -c.ci_low <= 0.5 + 1e-9) << c.key << " drop " << c.drop_points << " ci_low " << c.ci_low;
    estimate_only += c.drop_points <= 0.5 && -c.ci_low > 0.5;
  }
  EXPECT_GT(estimate_only, 0) << "the rule decides some candidate here, or this test tests nothing";
  ASSERT_TRUE(s.best_id.has_value());
  EXPECT_LE(-s.candidates[*s.best_id].ci_low, 0.5);
  EXPECT_EQ(ToJson(*r)["search"]["spec"]["budget_rule"], "interval");
}

TEST(SearchJobTest, SpecErrorsNameTheField) {
  const std::string base = testing::SourceDir() + "/models/fashion_mnist";
  auto no_val = ParseJobSpec(R"({"model": "cnn_bn.onnx", "eval_dataset": "dataset.json",
      "calibration": {"dataset": "train_dataset.json"}, "search": {}})",
                             base);
  ASSERT_FALSE(no_val.ok());
  EXPECT_NE(no_val.status().message().find("\"search\""), std::string::npos) << no_val.status();
  auto no_calib = ParseJobSpec(R"({"model": "cnn_bn.onnx", "eval_dataset": "dataset.json",
      "validation": {"samples": 10}, "search": {}})",
                               base);
  ASSERT_FALSE(no_calib.ok());
  EXPECT_NE(no_calib.status().message().find("calibration.dataset"), std::string::npos) << no_calib.status();
  auto bad = ParseJobSpec(R"({"model": "cnn_bn.onnx", "eval_dataset": "dataset.json",
      "calibration": {"dataset": "train_dataset.json"}, "validation": {"samples": 10},
      "search": {"choices": ["fp32", "w4a9"]}})",
                          base);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("search.choices[1]"), std::string::npos) << bad.status();
}

}  // namespace
}  // namespace qbench
