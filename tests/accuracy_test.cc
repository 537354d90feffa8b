// Accuracy integrity end to end: strict top-k on a model whose quantized output ties (a
// Softmax head), checked against an independent computation from the raw outputs; the
// paired comparison's counts; the validation split and the calibration-overlap notes.
#include <algorithm>
#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "tests/test_paths.h"
#include "engine/data/dataset.h"
#include "engine/onnx/exporter.h"
#include "engine/onnx/importer.h"
#include "engine/pipeline/pipeline.h"
#include "engine/quant/calibrate.h"
#include "engine/quant/quantize_graph.h"
#include "engine/quant/sampler.h"

namespace qbench {
namespace {

std::string Fashion(const std::string& file) { return testing::SourceDir() + "/models/fashion_mnist/" + file; }

constexpr int64_t kCalibration = 1000;

// Our MLP with a Flatten and a Softmax appended, the head many exported classifiers end
// in: the Flatten moves integers, so W8A8 quantizes the last Gemm's output to 8 bits,
// near-equal logits become equal ones, and the Softmax ties.
std::string SoftmaxModel() {
  const std::string path = ::testing::TempDir() + "/qbench_mlp_softmax.onnx";
  auto g = ImportOnnxFile(Fashion("mlp.onnx"));
  EXPECT_TRUE(g.ok()) << g.status();
  Value flat;
  flat.name = "flat_logits";
  flat.shape = g->values[g->outputs[0]].shape;
  flat.has_shape = g->values[g->outputs[0]].has_shape;
  const int logits = g->AddValue(flat);
  Node flatten;
  flatten.name = "head_flatten";
  flatten.op_type = "Flatten";
  flatten.inputs = {g->outputs[0]};
  flatten.outputs = {logits};
  flatten.attrs.Set("axis", int64_t{1});
  g->nodes.push_back(flatten);
  Value probs;
  probs.name = "probabilities";
  probs.shape = g->values[logits].shape;
  probs.has_shape = g->values[logits].has_shape;
  const int out = g->AddValue(probs);
  Node softmax;
  softmax.name = "head_softmax";
  softmax.op_type = "Softmax";
  softmax.inputs = {logits};
  softmax.outputs = {out};
  softmax.attrs.Set("axis", int64_t{-1});
  g->nodes.push_back(softmax);
  g->outputs = {out};
  g->RebuildProducers();
  const absl::Status s = ExportOnnx(*g, path);
  EXPECT_TRUE(s.ok()) << s;
  return path;
}

JobSpec BaseSpec(const std::string& model) {
  JobSpec spec;
  spec.model = model;
  spec.eval_dataset = Fashion("dataset.json");
  spec.calibration_dataset = Fashion("train_dataset.json");
  spec.calibration_samples = kCalibration;
  spec.batch_sizes = {64};
  spec.latency = {0, 0, 1, 0, 1, 1};
  spec.sqnr_samples = 0;
  spec.sensitivity = false;
  spec.profile_iters = 0;
  spec.configs = {*quant::ConfigFromShortName("fp32"), *quant::ConfigFromShortName("w8a8")};
  return spec;
}

// What a NumPy user computes from the raw outputs: std::max_element returns the first of
// equal maxima (np.argmax); ties count rows whose maximum occurs more than once. The old
// rule ("no class scores strictly higher than the label") is computed beside it.
struct Independent {
  std::vector<uint8_t> correct;
  int64_t hits = 0, ties = 0, old_rule_hits = 0;
};

Independent Score(Session& session, const data::Dataset& ds, int64_t n) {
  Independent r;
  for (int64_t first = 0; first < n; first += 100) {
    std::vector<int64_t> idx;
    for (int64_t i = first; i < std::min(n, first + 100); ++i) idx.push_back(i);
    auto x = data::LoadBatch(ds, idx);
    EXPECT_TRUE(x.ok()) << x.status();
    auto out = session.Run({*x});
    EXPECT_TRUE(out.ok()) << out.status();
    const Tensor& y = (*out)[0];
    const int64_t classes = y.num_elements() / y.dim(0);
    for (size_t i = 0; i < idx.size(); ++i) {
      const float* row = y.data<float>() + i * classes;
      const float* top = std::max_element(row, row + classes);
      const int label = ds.label(idx[i]);
      r.ties += std::count(row, row + classes, *top) > 1;
      r.correct.push_back(top - row == label);
      r.hits += r.correct.back();
      r.old_rule_hits += std::none_of(row, row + classes, [&](float v) { return v > row[label]; });
    }
  }
  return r;
}

TEST(AccuracyIntegrityTest, SoftmaxHeadTiesAreScoredStrictly) {
  const std::string model = SoftmaxModel();
  JobSpec spec = BaseSpec(model);
  auto result = RunJob(spec);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->configs.size(), 2u);
  const ConfigResult& fp32 = result->configs[0];
  const ConfigResult& w8 = result->configs[1];
  ASSERT_TRUE(w8.error.empty()) << w8.error;
  const int64_t n = w8.accuracy.samples;
  ASSERT_EQ(n, 10000);

  // The same FP32 and W8A8 models, built and scored outside the pipeline.
  auto g = ImportOnnxFile(model);
  ASSERT_TRUE(g.ok()) << g.status();
  auto f = Session::Create(std::move(*g), SessionOptions{});
  ASSERT_TRUE(f.ok()) << f.status();
  auto train = data::OpenDataset(spec.calibration_dataset);
  auto test = data::OpenDataset(spec.eval_dataset);
  ASSERT_TRUE(train.ok() && test.ok());
  auto cal = quant::Calibrate(**f, **train, spec.calibration_dataset, {kCalibration, 0, 64, 1});
  ASSERT_TRUE(cal.ok()) << cal.status();
  auto qm = quant::QuantizeGraph((*f)->graph(), w8.config, cal->histograms, &cal->channel_means);
  ASSERT_TRUE(qm.ok()) << qm.status();
  ASSERT_EQ(quant::ParamsSha256(*qm), w8.params_sha256);  // the very model the job measured
  auto q = Session::Create(std::move(qm->graph), SessionOptions{});
  ASSERT_TRUE(q.ok()) << q.status();
  const Independent want_fp32 = Score(**f, **test, n);
  const Independent want = Score(**q, **test, n);

  // The quantized Softmax ties often, and the old rule counted each tie as a hit for
  // every tied class: that is what this test must catch.
  EXPECT_GT(want.ties, 20);
  EXPECT_GT(want.old_rule_hits, want.hits + 10);
  EXPECT_EQ(w8.accuracy.tied_top1, want.ties);
  EXPECT_EQ(w8.accuracy.top1_hits, want.hits);
  EXPECT_DOUBLE_EQ(w8.accuracy.top1, static_cast<double>(want.hits) / n);
  EXPECT_EQ(fp32.accuracy.top1_hits, want_fp32.hits);
  EXPECT_EQ(fp32.accuracy.tied_top1, want_fp32.ties);
  EXPECT_FALSE(fp32.accuracy.vs_fp32.has_value());

  // The paired comparison: discordant counts from the two independent per-sample lists.
  ASSERT_TRUE(w8.accuracy.vs_fp32.has_value());
  const PairedComparison& p = *w8.accuracy.vs_fp32;
  int64_t fp32_only = 0, w8_only = 0;
  for (int64_t i = 0; i < n; ++i) {
    fp32_only += want_fp32.correct[i] && !want.correct[i];
    w8_only += !want_fp32.correct[i] && want.correct[i];
  }
  EXPECT_EQ(p.n, n);
  EXPECT_EQ(p.base_only, fp32_only);
  EXPECT_EQ(p.other_only, w8_only);
  EXPECT_NEAR(p.delta, static_cast<double>(want.hits - want_fp32.hits) / n, 1e-12);
  EXPECT_LE(p.ci_low, p.delta);
  EXPECT_GE(p.ci_high, p.delta);
  EXPECT_GT(p.p_value, 0);
  EXPECT_LE(p.p_value, 1);

  // The result JSON carries the same figures.
  const nlohmann::json j = ToJson(*result);
  const auto& acc = j["configs"][1]["accuracy"];
  EXPECT_EQ(acc["tied_top1"].get<int64_t>(), want.ties);
  EXPECT_EQ(acc["top1_delta"]["fp32_right_config_wrong"].get<int64_t>(), fp32_only);
  EXPECT_EQ(acc["top1_delta"]["fp32_wrong_config_right"].get<int64_t>(), w8_only);
  EXPECT_EQ(j["evaluation"]["mode"], "all");
}

// A holdout split: validation and test samples partition the evaluated samples, FP32's
// hits add up to the unsplit run's, and the split is recorded.
TEST(AccuracyIntegrityTest, HoldoutSplitPartitionsTheEvaluationSet) {
  JobSpec spec = BaseSpec(Fashion("mlp.onnx"));
  spec.samples = 3000;
  auto whole = RunJob(spec);
  ASSERT_TRUE(whole.ok()) << whole.status();
  spec.validation.samples = 1000;
  spec.validation.seed = 5;
  auto split = RunJob(spec);
  ASSERT_TRUE(split.ok()) << split.status();
  const EvaluationSplit& s = split->split;
  EXPECT_EQ(s.mode, "holdout");
  ASSERT_EQ(s.validation_indices.size(), 1000u);
  ASSERT_EQ(s.test_indices.size(), 2000u);
  std::set<int64_t> all(s.test_indices.begin(), s.test_indices.end());
  for (int64_t i : s.validation_indices) EXPECT_TRUE(all.insert(i).second) << "index " << i << " in both";
  EXPECT_EQ(all.size(), 3000u);
  EXPECT_EQ(*all.rbegin(), 2999);
  EXPECT_TRUE(std::is_sorted(s.test_indices.begin(), s.test_indices.end()));
  for (size_t c = 0; c < 2; ++c) {
    const ConfigResult& r = split->configs[c];
    ASSERT_TRUE(r.validation.has_value()) << r.config.name;
    EXPECT_EQ(r.accuracy.samples, 2000);
    EXPECT_EQ(r.validation->samples, 1000);
    EXPECT_EQ(r.accuracy.top1_hits + r.validation->top1_hits, whole->configs[c].accuracy.top1_hits) << r.config.name;
    EXPECT_EQ(r.accuracy.tied_top1 + r.validation->tied_top1, whole->configs[c].accuracy.tied_top1);
  }
  EXPECT_TRUE(split->configs[1].validation->vs_fp32.has_value());
  EXPECT_FALSE(whole->configs[1].validation.has_value());
  // Same seed, same split; the JSON names it.
  const nlohmann::json j = ToJson(*split);
  EXPECT_EQ(j["evaluation"]["validation_samples"], 1000);
  EXPECT_EQ(j["evaluation"]["test_indices_sha256"], s.test_indices_sha256);
  EXPECT_EQ(j["evaluation"]["validation_indices"].size(), 1000u);
  EXPECT_TRUE(j["configs"][1].contains("validation"));
}

// Calibrating on the evaluation data is said in the notes, with the overlap counted.
TEST(AccuracyIntegrityTest, CalibrationOnTheTestDataIsNoted) {
  JobSpec spec = BaseSpec(Fashion("mlp.onnx"));
  spec.samples = 2000;
  spec.calibration_dataset = Fashion("dataset.json");  // the test set itself
  spec.calibration_samples = 500;
  auto r = RunJob(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->split.calibration_is_eval_data);
  EXPECT_GT(r->split.calibration_test_overlap, 0);
  // The calibration samples are the first 500 of the seeded shuffle of all 10 000 test
  // images; those below 2000 are evaluated test samples.
  auto cal = quant::SampleIndices(10000, 500, 0);
  const int64_t overlap = std::count_if(cal.begin(), cal.end(), [](int64_t i) { return i < 2000; });
  ASSERT_GT(overlap, 0);
  const auto& notes = r->configs[1].notes;
  const std::string want = "calibration and evaluation read the same data: " + std::to_string(overlap) + " of the 500";
  EXPECT_TRUE(std::any_of(notes.begin(), notes.end(), [&](const std::string& n) { return n.find(want) == 0; }))
      << "no note starting with: " << want;
  // Training-set calibration says nothing of the kind.
  auto clean = RunJob(BaseSpec(Fashion("mlp.onnx")));
  ASSERT_TRUE(clean.ok());
  for (const std::string& n : clean->configs[1].notes) EXPECT_EQ(n.find("calibration and evaluation"), std::string::npos);
}

TEST(AccuracyIntegrityTest, ValidationSpecErrorsNameTheField) {
  const auto err = [](const std::string& v) {
    auto s = ParseJobSpec(R"({"model": "m.onnx", "eval_dataset": "d.json", "validation": )" + v + "}", "/tmp");
    return s.ok() ? std::string("ok") : std::string(s.status().message());
  };
  EXPECT_NE(err(R"({"fraction": 1.5})").find("validation.fraction"), std::string::npos);
  EXPECT_NE(err(R"({"samples": -3})").find("validation.samples"), std::string::npos);
  EXPECT_NE(err(R"({"samples": 10, "fraction": 0.1})").find("validation"), std::string::npos);
  EXPECT_NE(err(R"({"sample": 10})").find("validation.sample"), std::string::npos);
  EXPECT_NE(err(R"({})").find("validation"), std::string::npos);
  EXPECT_EQ(err(R"({"fraction": 0.2, "seed": 4})"), "ok");
  // A split that leaves no test sample is refused when the job runs.
  JobSpec spec = BaseSpec(Fashion("mlp.onnx"));
  spec.samples = 100;
  spec.validation.samples = 100;
  auto r = RunJob(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("validation.samples"), std::string::npos) << r.status();
}

}  // namespace
}  // namespace qbench
