// QuantizeGraph on a tiny hand-built graph:
//   x [1,1,2,2] -> conv1 (W1 {0.5, -0.25}, B1 {0.1, 0.2}, fused Relu "relu1") -> y1 [1,2,2,2]
//              -> conv2 (W2 {1, 0.5}) -> y2 [1,1,2,2]
// calibrated on x in [-1, 2] with min/max, so x gets scale 3/255 and zero point 85, and
// y1 = relu(...) in [0, 1.1] gets scale 1.1/255 and zero point 0.
#include <cmath>
#include <cstring>
#include <map>

#include <gtest/gtest.h>

#include "engine/ops/op_def.h"
#include "engine/quant/qparams.h"
#include "engine/quant/range_method.h"
#include "engine/ops/tensor_test_util.h"
#include "engine/quant/quantize_graph.h"

namespace qbench::quant {
namespace {

using testing::Floats;
using testing::Values;

constexpr int kX = 0, kW1 = 1, kY1 = 3, kY2 = 5;

int AddValue(Graph& g, const std::string& name, Shape shape, std::optional<Tensor> constant = std::nullopt) {
  Value v;
  v.name = name;
  v.shape = std::move(shape);
  v.has_shape = true;
  v.constant = std::move(constant);
  return g.AddValue(std::move(v));
}

Graph TinyGraph() {
  Graph g;
  g.opset = 13;
  AddValue(g, "x", {1, 1, 2, 2});
  AddValue(g, "W1", {2, 1, 1, 1}, Tensor::FromFloats({2, 1, 1, 1}, {0.5f, -0.25f}));
  AddValue(g, "B1", {2}, Tensor::FromFloats({2}, {0.1f, 0.2f}));
  AddValue(g, "y1", {1, 2, 2, 2});
  AddValue(g, "W2", {1, 2, 1, 1}, Tensor::FromFloats({1, 2, 1, 1}, {1.f, 0.5f}));
  AddValue(g, "y2", {1, 1, 2, 2});
  Node c1;
  c1.name = "conv1";
  c1.op_type = "Conv";
  c1.inputs = {0, 1, 2};
  c1.outputs = {kY1};
  PostOp relu;
  relu.kind = "Relu";
  relu.from_node = "relu1";
  c1.post_ops.push_back(relu);
  Node c2;
  c2.name = "conv2";
  c2.op_type = "Conv";
  c2.inputs = {kY1, 4};
  c2.outputs = {kY2};
  g.nodes = {c1, c2};
  g.inputs = {kX};
  g.outputs = {kY2};
  g.RebuildProducers();
  return g;
}

// Runs every node's reference kernel in order (the reference backend's semantics) and
// returns every value computed.
absl::StatusOr<std::map<int, Tensor>> RunGraph(const Graph& g, const Tensor& x) {
  std::map<int, Tensor> v;
  for (size_t i = 0; i < g.values.size(); ++i)
    if (g.values[i].constant) v[static_cast<int>(i)] = *g.values[i].constant;
  v[g.inputs[0]] = x;
  for (const Node& n : g.nodes) {
    std::vector<Tensor> in;
    for (int id : n.inputs) {
      if (id >= 0 && !v.count(id)) return absl::InternalError("node " + n.name + " reads an unset value");
      in.push_back(id >= 0 ? v[id] : Tensor());
    }
    for (const PostOp& p : n.post_ops)
      if (p.kind == "Sum") in.push_back(v.at(p.sum_input));
    std::vector<Tensor> out;
    absl::Status s = RunReference(*FindOp(n.op_type), n, in, &out);
    if (!s.ok()) return s;
    for (size_t k = 0; k < out.size(); ++k) v[n.outputs[k]] = out[k];
  }
  return v;
}

const std::vector<std::vector<float>> kCalibration = {{-1.f, 2.f, 0.5f, 0.25f}, {1.5f, -0.5f, 0.f, 1.f}};

// Histograms of every float activation over the calibration inputs, as Calibrate does.
std::map<int, Histogram> Calibrate(const Graph& g) {
  std::map<int, Histogram> h;
  for (const std::vector<float>& xs : kCalibration) {
    auto v = RunGraph(g, Tensor::FromFloats({1, 1, 2, 2}, xs));
    EXPECT_TRUE(v.ok()) << v.status();
    for (const auto& [id, t] : *v)
      if (!g.values[id].constant) {
        EXPECT_TRUE(h[id].Add(Floats(t)).ok());
      }
  }
  return h;
}

// Overrides by node name or op type.
LayerOverride Fp32Node(const std::string& node) {
  LayerOverride o;
  o.node = node;
  o.fp32 = true;
  return o;
}
LayerOverride Fp32OpType(const std::string& op_type) {
  LayerOverride o;
  o.op_type = op_type;
  o.fp32 = true;
  return o;
}

QuantConfig MinMaxW8A8() {
  QuantConfig c = *ConfigFromShortName("w8a8");
  c.activations.method = CalibMethod::kMinMax;
  c.weights.narrow_range = true;  // the hand-computed scales below are amax / 127 (amax / 7 at 4 bits)
  return c;
}

const Node* FindNode(const Graph& g, const std::string& name) {
  for (const Node& n : g.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

TEST(QuantizeGraphTest, ProducesQdqNodesAndPerChannelInt8Weights) {
  const Graph g = TinyGraph();
  auto q = QuantizeGraph(g, MinMaxW8A8(), Calibrate(g));
  ASSERT_TRUE(q.ok()) << q.status();
  const Graph& qg = q->graph;
  // Q -> DQ behind x and y1; DQ behind W1 and W2.
  EXPECT_EQ(qg.CountOps("QuantizeLinear"), 2);
  EXPECT_EQ(qg.CountOps("DequantizeLinear"), 4);
  EXPECT_EQ(qg.CountOps("DynamicQuantizeLinear"), 0);

  // x: [-1, 2] -> u8, scale 3/255, zero point 85.  y1: [0, 1.1] -> scale 1.1/255, zp 0.
  ASSERT_TRUE(q->activations.count(kX));
  EXPECT_EQ(q->activations.at(kX).dtype, DType::kU8);
  EXPECT_FLOAT_EQ(q->activations.at(kX).scale[0], 3.f / 255);
  EXPECT_EQ(q->activations.at(kX).zero_point[0], 85);
  ASSERT_TRUE(q->activations.count(kY1));
  EXPECT_FLOAT_EQ(q->activations.at(kY1).scale[0], 1.1f / 255);
  EXPECT_EQ(q->activations.at(kY1).zero_point[0], 0);

  // W1 per output channel (axis 0): scales 0.5/127 and 0.25/127, q {127, -127}.
  const int wq = qg.FindValue("W1_quantized"), ws = qg.FindValue("W1_scale"), wz = qg.FindValue("W1_zero_point");
  ASSERT_GE(wq, 0);
  ASSERT_GE(ws, 0);
  ASSERT_GE(wz, 0);
  EXPECT_EQ(qg.values[wq].constant->dtype(), DType::kS8);
  EXPECT_EQ(Values<int8_t>(*qg.values[wq].constant), std::vector<int8_t>({127, -127}));
  testing::ExpectNear(*qg.values[ws].constant, {0.5f / 127, 0.25f / 127}, 1e-9f);
  EXPECT_EQ(Values<int8_t>(*qg.values[wz].constant), std::vector<int8_t>({0, 0}));
  const Node* wdq = FindNode(qg, "W1_DequantizeLinear");
  ASSERT_NE(wdq, nullptr);
  EXPECT_EQ(wdq->attrs.GetInt("axis", -1).value_or(-1), 0);

  // conv1 reads the dequantized twins and keeps its fused Relu.
  const Node* c1 = FindNode(qg, "conv1");
  ASSERT_NE(c1, nullptr);
  EXPECT_EQ(qg.values[c1->inputs[0]].name, "x_dequantized");
  EXPECT_EQ(qg.values[c1->inputs[1]].name, "W1_dequantized");
  ASSERT_EQ(c1->post_ops.size(), 1u);
  EXPECT_EQ(c1->post_ops[0].kind, "Relu");
  // The graph output keeps the float value.
  EXPECT_EQ(qg.outputs, std::vector<int>({kY2}));
  ASSERT_EQ(q->layers.size(), 2u);
  EXPECT_TRUE(q->layers[0].quantized);
  EXPECT_EQ(q->layers[0].weight_bits, 8);
  EXPECT_TRUE(q->layers[1].quantized);
}

TEST(QuantizeGraphTest, QdqGraphRunsCloseToFloat) {
  const Graph g = TinyGraph();
  auto q = QuantizeGraph(g, MinMaxW8A8(), Calibrate(g));
  ASSERT_TRUE(q.ok()) << q.status();
  const Tensor x = Tensor::FromFloats({1, 1, 2, 2}, {-1.f, 2.f, 0.6f, 0.25f});
  auto ref = RunGraph(g, x);
  auto got = RunGraph(q->graph, x);
  ASSERT_TRUE(ref.ok() && got.ok()) << got.status();
  // x's integer twin: round(x / (3/255)) + 85 = {-85 + 85, 170 + 85, 51 + 85, 21.25 -> 21 + 85}.
  const int xq = q->graph.FindValue("x_quantized");
  ASSERT_GE(xq, 0);
  EXPECT_EQ(Values<uint8_t>(got->at(xq)), std::vector<uint8_t>({0, 255, 136, 106}));
  // y2 = y1[0] + 0.5 y1[1]: errors of half a step of x (0.006) and y1 (0.0022) bound it.
  const std::vector<float> want = Floats(ref->at(kY2)), have = Floats(got->at(kY2));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(have[i], want[i], 0.01f) << i;
}

TEST(QuantizeGraphTest, Fp32OverrideKeepsTheLayerFloat) {
  const Graph g = TinyGraph();
  const auto h = Calibrate(g);
  QuantConfig c = MinMaxW8A8();
  c.overrides.push_back(Fp32Node("conv2"));
  auto q = QuantizeGraph(g, c, h);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_FALSE(q->layers[1].quantized);
  EXPECT_NE(q->layers[1].reason.find("override"), std::string::npos);
  EXPECT_EQ(q->graph.FindValue("W2_quantized"), -1);
  EXPECT_EQ(q->graph.CountOps("QuantizeLinear"), 1);  // x only
  EXPECT_EQ(FindNode(q->graph, "conv2")->inputs[0], kY1);  // reads the float y1
  EXPECT_EQ(FindNode(q->graph, "conv2")->inputs[1], 4);

  // Naming the fused Relu ("relu1") matches conv1, the node it was fused into.
  c.overrides = {Fp32Node("relu1")};
  q = QuantizeGraph(g, c, h);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_FALSE(q->layers[0].quantized);
  EXPECT_TRUE(q->layers[1].quantized);
  EXPECT_FALSE(q->activations.count(kX));
  EXPECT_TRUE(q->activations.count(kY1));
}

TEST(QuantizeGraphTest, LowBitOverrides) {
  const Graph g = TinyGraph();
  QuantConfig c = MinMaxW8A8();
  LayerOverride conv_w4, conv2_a4;
  conv_w4.op_type = "Conv";
  conv_w4.weight_bits = 4;
  conv2_a4.node = "conv2";
  conv2_a4.activation_bits = 4;
  c.overrides = {conv_w4, conv2_a4};
  auto q = QuantizeGraph(g, c, Calibrate(g));
  ASSERT_TRUE(q.ok()) << q.status();
  // 4-bit weights: scale amax / 7, q {7, -7}, still s8 storage.
  const Graph& qg = q->graph;
  EXPECT_EQ(Values<int8_t>(*qg.values[qg.FindValue("W1_quantized")].constant), std::vector<int8_t>({7, -7}));
  testing::ExpectNear(*qg.values[qg.FindValue("W1_scale")].constant, {0.5f / 7, 0.25f / 7}, 1e-8f);
  EXPECT_EQ(q->layers[0].weight_bits, 4);
  // conv2's input y1 on the u4 grid [0, 15]: scale 1.1 / 15, and its QuantizeLinear
  // carries the grid so the reference op clamps to it.
  EXPECT_EQ(q->activations.at(kY1).qmax, 15);
  EXPECT_FLOAT_EQ(q->activations.at(kY1).scale[0], 1.1f / 15);
  const Node* yq = FindNode(qg, "y1_QuantizeLinear");
  ASSERT_NE(yq, nullptr);
  EXPECT_EQ(yq->attrs.GetInt("__qmax", 255).value_or(0), 15);
  EXPECT_EQ(yq->attrs.GetInt("__qmin", -1).value_or(-1), 0);
  // x keeps 8 bits (conv1 has no activation override): no grid attributes.
  EXPECT_FALSE(FindNode(qg, "x_QuantizeLinear")->attrs.Has("__qmax"));
}

TEST(QuantizeGraphTest, ErrorsNameTheProblem) {
  const Graph g = TinyGraph();
  const auto h = Calibrate(g);
  QuantConfig c = MinMaxW8A8();
  c.overrides.push_back(Fp32Node("nope"));
  auto q = QuantizeGraph(g, c, h);
  testing::ExpectError(q.status(), absl::StatusCode::kInvalidArgument, {"node \"nope\"", "matches no node"});
  c.overrides = {Fp32OpType("MatMul")};
  testing::ExpectError(QuantizeGraph(g, c, h).status(), absl::StatusCode::kInvalidArgument, {"op_type \"MatMul\""});
  // No statistics for an activation that needs them names the tensor.
  std::map<int, Histogram> partial = h;
  partial.erase(kX);
  testing::ExpectError(QuantizeGraph(g, MinMaxW8A8(), partial).status(), absl::StatusCode::kInternal, {"\"x\""});
  // fp32 is not an integer configuration; bias correction needs calibration's channel means.
  EXPECT_FALSE(QuantizeGraph(g, *ConfigFromShortName("fp32"), h).ok());
  c = MinMaxW8A8();
  c.bias_correction = true;
  testing::ExpectError(QuantizeGraph(g, c, h).status(), absl::StatusCode::kInvalidArgument, {"bias_correction"});
  // A NaN weight names the node and the weight.
  Graph bad = TinyGraph();
  bad.values[kW1].constant->data<float>()[1] = NAN;
  testing::ExpectError(QuantizeGraph(bad, MinMaxW8A8(), h).status(), absl::StatusCode::kInvalidArgument,
                       {"conv1", "\"W1\""});
}

TEST(QuantizeGraphTest, Deterministic) {
  const Graph g = TinyGraph();
  for (const char* method : {"percentile", "entropy", "mse"}) {
    QuantConfig c = MinMaxW8A8();
    c.activations.method = FindRangeMethod(method)->method;
    c.weights.method = WeightMethod::kMse;
    auto a = QuantizeGraph(g, c, Calibrate(g));
    auto b = QuantizeGraph(g, c, Calibrate(g));
    ASSERT_TRUE(a.ok() && b.ok()) << method;
    EXPECT_EQ(a->activations, b->activations) << method;  // bit-identical scales and zero points
    ASSERT_EQ(a->graph.values.size(), b->graph.values.size());
    for (size_t i = 0; i < a->graph.values.size(); ++i) {
      const Value &va = a->graph.values[i], &vb = b->graph.values[i];
      EXPECT_EQ(va.name, vb.name);
      ASSERT_EQ(va.constant.has_value(), vb.constant.has_value());
      if (!va.constant) continue;
      ASSERT_EQ(va.constant->nbytes(), vb.constant->nbytes());
      EXPECT_EQ(std::memcmp(va.constant->raw(), vb.constant->raw(), va.constant->nbytes()), 0) << va.name;
    }
  }
}

TEST(QuantizeGraphTest, DyadicMultipliers) {
  // With the dyadic constraint, M = s_x s_w[c] / s_y is m / 2^k with an 8-bit m (up to
  // float rounding of the re-derived s_w); without it, it is generally not.
  const Graph g = TinyGraph();
  const auto h = Calibrate(g);
  auto off_grid = [](double m_real) {
    return std::abs(NearestDyadic(m_real, 8) - m_real) / m_real;
  };
  QuantConfig c = MinMaxW8A8();
  auto plain = QuantizeGraph(g, c, h);
  c.scale = ScaleConstraint::kDyadic;
  c.dyadic_bits = 8;
  auto dyadic = QuantizeGraph(g, c, h);
  ASSERT_TRUE(plain.ok() && dyadic.ok());
  auto multipliers = [](const QuantizedModel& q, const std::string& w, int in, int out) {
    const Tensor& s = *q.graph.values[q.graph.FindValue(w + "_scale")].constant;
    const double sx = q.activations.at(in).scale[0];
    const double sy = out >= 0 ? q.activations.at(out).scale[0] : 1.0;
    std::vector<double> m;
    for (float sw : Floats(s)) m.push_back(sx * sw / sy);
    return m;
  };
  double worst_plain = 0;
  for (double m : multipliers(*plain, "W1", kX, kY1)) worst_plain = std::max(worst_plain, off_grid(m));
  EXPECT_GT(worst_plain, 1e-4);
  for (double m : multipliers(*dyadic, "W1", kX, kY1)) EXPECT_LT(off_grid(m), 1e-6) << m;
  for (double m : multipliers(*dyadic, "W2", kY1, -1)) EXPECT_LT(off_grid(m), 1e-6) << m;
  // The weights were re-quantized with the new scales: still within one step of W1.
  const Tensor& s = *dyadic->graph.values[dyadic->graph.FindValue("W1_scale")].constant;
  const Tensor& wq = *dyadic->graph.values[dyadic->graph.FindValue("W1_quantized")].constant;
  EXPECT_NEAR(s.data<float>()[0] * wq.data<int8_t>()[0], 0.5f, s.data<float>()[0] / 2);
}

TEST(QuantizeGraphTest, DynamicActivations) {
  const Graph g = TinyGraph();
  auto q = QuantizeGraph(g, *ConfigFromShortName("w8a8-dynamic"), {});
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->graph.CountOps("DynamicQuantizeLinear"), 2);
  EXPECT_EQ(q->graph.CountOps("QuantizeLinear"), 0);
  EXPECT_EQ(q->graph.CountOps("DequantizeLinear"), 4);
  const Tensor x = Tensor::FromFloats({1, 1, 2, 2}, {-1.f, 2.f, 0.6f, 0.3f});
  auto ref = RunGraph(g, x);
  auto got = RunGraph(q->graph, x);
  ASSERT_TRUE(ref.ok() && got.ok()) << got.status();
  const std::vector<float> want = Floats(ref->at(kY2)), have = Floats(got->at(kY2));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(have[i], want[i], 0.01f) << i;
}

}  // namespace
}  // namespace qbench::quant
