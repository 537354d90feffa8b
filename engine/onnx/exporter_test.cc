// ONNX export: the written model passes onnx::checker, has the expected nodes, and,
// imported again, computes what the exported graph computes (reference backend).
#include "engine/onnx/exporter.h"

#include <cmath>
#include <map>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include "tests/test_paths.h"
#include "engine/data/dataset.h"
#include "engine/onnx/importer.h"
#include "engine/quant/calibrate.h"
#include "spec/quant_config.h"
#include "engine/quant/quantize_graph.h"
#include "engine/runtime/session.h"

namespace qbench {
namespace {

Tensor Random(const Shape& shape, uint32_t seed, float lo, float hi) {
  Tensor t(DType::kF32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

std::vector<Tensor> RunReference(const Graph& g, const std::vector<Tensor>& inputs) {
  auto s = Session::Create(g, SessionOptions{Backend::kReference});
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok()) return {};
  auto y = (*s)->Run(inputs);
  EXPECT_TRUE(y.ok()) << y.status();
  return y.ok() ? *y : std::vector<Tensor>{};
}

float MaxAbsDiff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  float m = 0;
  for (int64_t i = 0; i < std::min(a.num_elements(), b.num_elements()); ++i)
    m = std::max(m, std::fabs(a.data<float>()[i] - b.data<float>()[i]));
  return m;
}

std::map<std::string, int> OpCounts(const onnx::ModelProto& m) {
  std::map<std::string, int> c;
  for (const auto& n : m.graph().node()) ++c[n.op_type()];
  return c;
}

// Exports, checks, and imports again.
Graph RoundTrip(const Graph& g, onnx::ModelProto* model, ExportStats* stats) {
  absl::Status s = ExportOnnxModel(g, model, {}, stats);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_NO_THROW(onnx::checker::check_model(*model));
  EXPECT_EQ(model->ir_version(), 7);
  auto back = ImportOnnxModel(*model, "re-import");
  EXPECT_TRUE(back.ok()) << back.status();
  return back.ok() ? *std::move(back) : Graph();
}

int Activation(Graph& g, const std::string& name, Shape shape, DType dtype = DType::kF32) {
  Value v;
  v.name = name;
  v.dtype = dtype;
  v.shape = std::move(shape);
  v.has_shape = true;
  return g.AddValue(std::move(v));
}

Node MakeNode(const std::string& op, const std::string& name, std::vector<int> in, std::vector<int> out) {
  Node n;
  n.name = name;
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attrs.Set("__opset", int64_t{13});
  return n;
}

// Conv with every kind of post-op, then a 4-bit QuantizeLinear (grid [0, 15] in u8,
// zero point 2) and its DequantizeLinear: 1 + 6 + (Clip, Q, DQ) ONNX nodes.
TEST(ExporterTest, PostOpsAndNarrowGridRoundTrip) {
  Graph g;
  g.opset = 13;
  g.ir_version = 7;
  g.name = "hand";
  const int x = Activation(g, "x", {kDynamicDim, 2, 5, 5});
  const int r = Activation(g, "residual", {kDynamicDim, 4, 5, 5});
  const int w = g.AddConstant("w", Random({4, 2, 3, 3}, 1, -0.5f, 0.5f));
  const int b = g.AddConstant("b", Random({4}, 2, -0.2f, 0.2f));
  const int y = Activation(g, "y", {kDynamicDim, 4, 5, 5});
  const int s = g.AddConstant("s", Tensor::Scalar(0.05f));
  Tensor zp_t(DType::kU8, {});
  zp_t.data<uint8_t>()[0] = 2;
  const int zp = g.AddConstant("zp", zp_t);
  const int yq = Activation(g, "y_q", {kDynamicDim, 4, 5, 5}, DType::kU8);
  const int out = Activation(g, "out", {kDynamicDim, 4, 5, 5});
  g.inputs = {x, r};
  g.outputs = {out};

  Node conv = MakeNode("Conv", "conv", {x, w, b}, {y});
  conv.attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  conv.attrs.Set("kernel_shape", std::vector<int64_t>{3, 3});
  conv.post_ops = {{"Sum", 0, 0, r, "add"},        {"LeakyRelu", 0.1f, 0, -1, ""}, {"Clip", -1.f, 2.f, -1, "clip"},
                   {"Tanh", 0, 0, -1, ""},         {"HardSigmoid", 0.3f, 0.4f, -1, ""}, {"Sigmoid", 0, 0, -1, ""}};
  Node q = MakeNode("QuantizeLinear", "q", {y, s, zp}, {yq});
  q.attrs.Set("__qmin", int64_t{0});
  q.attrs.Set("__qmax", int64_t{15});
  Node dq = MakeNode("DequantizeLinear", "dq", {yq, s, zp}, {out});
  g.nodes = {conv, q, dq};
  g.RebuildProducers();

  onnx::ModelProto model;
  ExportStats stats;
  Graph back = RoundTrip(g, &model, &stats);
  EXPECT_EQ(stats.opset, 13);
  EXPECT_EQ(stats.nodes, 10);
  EXPECT_EQ(stats.post_op_nodes, 6);
  EXPECT_EQ(stats.grid_clips, 1);
  EXPECT_EQ(stats.bias.biases, 0);  // the conv input is not behind a DequantizeLinear
  EXPECT_THAT(OpCounts(model), ::testing::ElementsAre(
                                   ::testing::Pair("Add", 1), ::testing::Pair("Clip", 2), ::testing::Pair("Conv", 1),
                                   ::testing::Pair("DequantizeLinear", 1), ::testing::Pair("HardSigmoid", 1),
                                   ::testing::Pair("LeakyRelu", 1), ::testing::Pair("QuantizeLinear", 1),
                                   ::testing::Pair("Sigmoid", 1), ::testing::Pair("Tanh", 1)));
  for (const auto& n : model.graph().node())
    for (const auto& a : n.attribute()) EXPECT_NE(a.name().rfind("__", 0), 0u) << n.name() << " " << a.name();
  // Names and shapes of the graph's interface survive, with the batch symbolic.
  ASSERT_EQ(model.graph().input_size(), 2);
  EXPECT_EQ(model.graph().input(0).name(), "x");
  EXPECT_EQ(model.graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "batch");
  EXPECT_EQ(model.graph().output(0).name(), "out");

  const std::vector<Tensor> in = {Random({3, 2, 5, 5}, 3, -2, 2), Random({3, 4, 5, 5}, 4, -1, 1)};
  const std::vector<Tensor> a = RunReference(g, in), c = RunReference(back, in);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_LE(MaxAbsDiff(a[0], c[0]), 1e-5f);
  // Every output sits on the 4-bit grid: (q - 2) * 0.05 for q in [0, 15].
  for (int64_t i = 0; i < c[0].num_elements(); ++i) {
    const float steps = c[0].data<float>()[i] / 0.05f + 2;
    EXPECT_NEAR(steps, std::nearbyint(steps), 1e-3);
    EXPECT_GE(steps, -1e-3);
    EXPECT_LE(steps, 15 + 1e-3);
  }
}

TEST(ExporterTest, BytesAndFileVariantsAgree) {
  Graph g;
  g.opset = 13;
  const int x = Activation(g, "x", {kDynamicDim, 3});
  const int y = Activation(g, "y", {kDynamicDim, 3});
  g.inputs = {x};
  g.outputs = {y};
  g.nodes = {MakeNode("Relu", "relu", {x}, {y})};
  g.RebuildProducers();
  auto bytes = ExportOnnxBytes(g);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  const std::string path = ::testing::TempDir() + "/exporter_test_relu.onnx";
  ASSERT_TRUE(ExportOnnx(g, path).ok());
  auto back = ImportOnnxFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->CountOps("Relu"), 1);
  EXPECT_FALSE(ExportOnnx(g, "/nonexistent-dir/x.onnx").ok());
}

// A node imported at opset 10 whose attributes became inputs by 13 (Clip min/max).
TEST(ExporterTest, UpgradesOldOpsetAttributes) {
  Graph g;
  g.opset = 10;
  const int x = Activation(g, "x", {2, 3});
  const int y = Activation(g, "y", {2, 3});
  g.inputs = {x};
  g.outputs = {y};
  Node clip = MakeNode("Clip", "clip", {x}, {y});
  clip.attrs.Set("__opset", int64_t{10});
  clip.attrs.Set("min", -0.5f);
  clip.attrs.Set("max", 0.25f);
  g.nodes = {clip};
  g.RebuildProducers();
  onnx::ModelProto model;
  ExportStats stats;
  Graph back = RoundTrip(g, &model, &stats);
  EXPECT_EQ(stats.opset, 13);
  ASSERT_EQ(model.graph().node_size(), 1);
  EXPECT_EQ(model.graph().node(0).input_size(), 3);
  EXPECT_EQ(model.graph().node(0).attribute_size(), 0);
  const std::vector<Tensor> in = {Random({2, 3}, 5, -1, 1)};
  const std::vector<Tensor> a = RunReference(g, in), c = RunReference(back, in);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(MaxAbsDiff(a[0], c[0]), 0.f);
}

// The Fashion-MNIST models, quantized from a few calibration images, then exported.
struct Case {
  const char* model;
  const char* config;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.model << " " << c.config; }

class ModelExportTest : public ::testing::TestWithParam<Case> {};

TEST_P(ModelExportTest, ExportedModelComputesTheSame) {
  const std::string dir = testing::SourceDir() + "/models/fashion_mnist/";
  auto graph = ImportOnnxFile(dir + GetParam().model + ".onnx");
  ASSERT_TRUE(graph.ok()) << graph.status();
  // The oneDNN session's graph is the optimized one (fused post-ops) that the pipeline
  // quantizes; every quantized graph below runs on the reference backend.
  SessionOptions fast;
  fast.threads = 1;
  auto fp32 = Session::Create(*std::move(graph), fast);
  ASSERT_TRUE(fp32.ok()) << fp32.status();
  auto train = data::OpenDataset(dir + "train_dataset.json");
  auto test = data::OpenDataset(dir + "dataset.json");
  ASSERT_TRUE(train.ok()) << train.status();
  ASSERT_TRUE(test.ok()) << test.status();
  auto cal = quant::Calibrate(**fp32, **train, "train", quant::CalibrationOptions{64, 0, 32, 1});
  ASSERT_TRUE(cal.ok()) << cal.status();
  auto config = quant::ConfigFromShortName(GetParam().config);
  ASSERT_TRUE(config.ok()) << config.status();
  auto qm = quant::QuantizeGraph((*fp32)->graph(), *config, cal->histograms);
  ASSERT_TRUE(qm.ok()) << qm.status();
  const Graph& g = qm->graph;

  onnx::ModelProto model;
  ExportStats stats;
  Graph back = RoundTrip(g, &model, &stats);
  ASSERT_FALSE(back.nodes.empty());

  // Node counts: one per live node, one per post-op, a Clip per narrow Q, a DQ per bias.
  int live = 0, post_ops = 0, narrow = 0, clip_post_ops = 0, quantized_layers = 0;
  for (const Node& n : g.nodes) {
    if (n.removed) continue;
    ++live;
    post_ops += static_cast<int>(n.post_ops.size());
    for (const PostOp& p : n.post_ops) clip_post_ops += p.kind == "Clip";
    narrow += n.op_type == "QuantizeLinear" && n.attrs.Has("__qmin");
  }
  for (const auto& l : qm->layers) quantized_layers += l.quantized;
  EXPECT_GT(post_ops, 0);  // the fused graph: every model has a ReLU after a layer
  const auto counts = OpCounts(model);
  auto count = [&](const std::string& op) { return counts.count(op) ? counts.at(op) : 0; };
  EXPECT_EQ(stats.bias.biases, quantized_layers);  // every layer of these models has a bias
  EXPECT_EQ(stats.grid_clips, narrow);
  EXPECT_EQ(model.graph().node_size(), live + post_ops + narrow + stats.bias.biases);
  EXPECT_EQ(count("QuantizeLinear"), g.CountOps("QuantizeLinear"));
  EXPECT_EQ(count("DequantizeLinear"), g.CountOps("DequantizeLinear") + stats.bias.biases);
  EXPECT_EQ(count("Clip"), g.CountOps("Clip") + clip_post_ops + narrow);
  EXPECT_EQ(count("Conv"), g.CountOps("Conv"));
  EXPECT_EQ(count("Gemm"), g.CountOps("Gemm"));
  if (std::string(GetParam().config) == "w8a4") {
    EXPECT_GT(narrow, 0);
  }
  // Rounding b / (s_x s_w) to int32 moves each bias by at most half a step.
  EXPECT_LE(stats.bias.max_error_steps, 0.5 + 1e-6);

  // The re-imported model is the exported graph's math: compare it with the same graph
  // whose biases went through the same int32 rounding.
  Graph rounded = g;
  auto rs = QuantizeBiases(rounded);
  ASSERT_TRUE(rs.ok()) << rs.status();
  EXPECT_EQ(rs->biases, stats.bias.biases);
  std::vector<int64_t> idx;
  for (int64_t i = 0; i < 32; ++i) idx.push_back(i * 97);
  auto batch = data::LoadBatch(**test, idx);
  ASSERT_TRUE(batch.ok()) << batch.status();
  const std::vector<Tensor> want = RunReference(rounded, {*batch});
  const std::vector<Tensor> got = RunReference(back, {*batch});
  const std::vector<Tensor> unrounded = RunReference(g, {*batch});
  ASSERT_EQ(want.size(), 1u);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(unrounded.size(), 1u);
  EXPECT_LE(MaxAbsDiff(want[0], got[0]), 1e-5f);
  // Against the float-bias graph the rounding can move a later requantization by a step,
  // so only the predictions are compared: at most one of 32 may change.
  int changed = 0;
  const int64_t classes = got[0].dim(1);
  for (int64_t i = 0; i < got[0].dim(0); ++i) {
    const float* a = got[0].data<float>() + i * classes;
    const float* u = unrounded[0].data<float>() + i * classes;
    changed += std::max_element(a, a + classes) - a != std::max_element(u, u + classes) - u;
  }
  EXPECT_LE(changed, 1) << "max |logit diff| " << MaxAbsDiff(got[0], unrounded[0]);
  RecordProperty("bias_rounding_max_abs", std::to_string(stats.bias.max_abs_error));
  RecordProperty("logits_max_abs_diff_vs_float_bias", std::to_string(MaxAbsDiff(got[0], unrounded[0])));
}

INSTANTIATE_TEST_SUITE_P(FashionMnist, ModelExportTest,
                         ::testing::Values(Case{"cnn_bn", "w8a8"}, Case{"cnn_bn", "w4a8"}, Case{"cnn_bn", "w8a4"},
                                           Case{"resnet", "w8a8"}, Case{"resnet", "w8a4"}, Case{"dwsep", "w8a8"},
                                           Case{"dwsep", "w4a8"}, Case{"mlp", "w8a8"}, Case{"mlp", "w8a4"}),
                         [](const auto& info) {
                           return std::string(info.param.model) + "_" + info.param.config;
                         });

}  // namespace
}  // namespace qbench
