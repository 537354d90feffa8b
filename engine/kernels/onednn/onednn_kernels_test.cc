// The oneDNN kernels against the reference backend: each case builds a tiny graph with
// random constants, runs it through a Session on both backends with the same random
// inputs, and compares (|got - want| <= 1e-5 + 1e-4 |want|). Cases claimed for oneDNN
// also check the step's implementation (not the reference adapter, and for Gemm/MatMul
// not one of oneDNN's slow "ref" kernels); cases fed by a Conv check that the blocked
// layout was consumed without a reorder.
#include <cmath>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "engine/runtime/session.h"

namespace qbench {
namespace {

using Ints = std::vector<int64_t>;

class GraphBuilder {
 public:
  explicit GraphBuilder(int64_t opset = 13) : opset_(opset) { g_.opset = opset; }

  int Input(const Shape& shape) {
    const int id = Add(shape);
    g_.inputs.push_back(id);
    return id;
  }
  // A constant of uniform random values in [lo, hi).
  int Const(const Shape& shape, float lo = -1.f, float hi = 1.f) {
    Tensor t(DType::kF32, shape);
    std::uniform_real_distribution<float> u(lo, hi);
    for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = u(rng_);
    return Const(std::move(t));
  }
  int Const(Tensor t) {
    const int id = Add(t.shape(), t.dtype());
    g_.values[id].constant = std::move(t);
    return id;
  }
  // One node with one output; returns the output value id. Its name is "<op>_<index>".
  int Op(const std::string& op, const std::vector<int>& inputs, Attributes attrs = {}) {
    Node n;
    n.name = op + "_" + std::to_string(g_.nodes.size());
    n.op_type = op;
    n.inputs = inputs;
    attrs.Set("__opset", opset_);
    n.attrs = std::move(attrs);
    Value v;
    v.name = n.name + "_out";
    const int out = g_.AddValue(std::move(v));
    n.outputs = {out};
    g_.nodes.push_back(std::move(n));
    return out;
  }
  // A 3x3, pad 1 Conv to `out_channels`: its output is in oneDNN's blocked layout.
  int Conv(int x, int64_t in_channels, int64_t out_channels) {
    Attributes a;
    a.Set("kernel_shape", Ints{3, 3});
    a.Set("pads", Ints{1, 1, 1, 1});
    return Op("Conv", {x, Const({out_channels, in_channels, 3, 3}), Const({out_channels})}, std::move(a));
  }
  Graph Build(std::vector<int> outputs) {
    g_.outputs = std::move(outputs);
    g_.RebuildProducers();
    return g_;
  }
  std::mt19937& rng() { return rng_; }

 private:
  int Add(const Shape& shape, DType dtype = DType::kF32) {
    Value v;
    v.name = "v" + std::to_string(g_.values.size());
    v.dtype = dtype;
    v.shape = shape;
    v.has_shape = true;
    return g_.AddValue(std::move(v));
  }

  Graph g_;
  int64_t opset_;
  std::mt19937 rng_{1234};
};

Attributes Attrs(std::initializer_list<std::pair<const char*, AttrValue>> kv) {
  Attributes a;
  for (const auto& [k, v] : kv) a.Set(k, v);
  return a;
}

struct Expect {
  std::string node;          // the step to check ("" = none)
  bool onednn = true;        // true: not the reference adapter; false: it must be the reference
  bool no_ref_impl = false;  // also not one of oneDNN's "ref" implementations
  bool no_reorder = false;   // no reorder step feeds `node`
  bool fuse = true;          // the session's graph passes (off: one kernel per ONNX op)
};

// Runs the graph on both backends and compares; returns the oneDNN steps.
std::vector<StepInfo> Check(const Graph& graph, const std::vector<Shape>& input_shapes, const Expect& e) {
  std::mt19937 rng(99);
  std::uniform_real_distribution<float> u(-2.f, 2.f);
  std::vector<Tensor> inputs;
  for (const Shape& s : input_shapes) {
    Tensor t(DType::kF32, s);
    for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = u(rng);
    inputs.push_back(std::move(t));
  }
  SessionOptions dnnl_opts{Backend::kOneDnn, 1, e.fuse}, ref_opts{Backend::kReference, 1, false};
  auto dnnl = Session::Create(graph, dnnl_opts);
  auto ref = Session::Create(graph, ref_opts);
  EXPECT_TRUE(dnnl.ok()) << dnnl.status();
  EXPECT_TRUE(ref.ok()) << ref.status();
  if (!dnnl.ok() || !ref.ok()) return {};
  auto got = (*dnnl)->Run(inputs);
  auto want = (*ref)->Run(inputs);
  EXPECT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(want.ok()) << want.status();
  if (!got.ok() || !want.ok()) return {};
  // A second run reuses the plan (bound memories, prepacked weights): same result.
  auto again = (*dnnl)->Run(inputs);
  EXPECT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(got->size(), want->size());
  for (size_t o = 0; o < got->size() && o < want->size(); ++o) {
    const Tensor &g = (*got)[o], &w = (*want)[o];
    EXPECT_EQ(g.shape(), w.shape());
    if (g.shape() != w.shape()) continue;
    int bad = 0;
    for (int64_t i = 0; i < g.num_elements() && bad < 5; ++i) {
      const float gv = g.data<float>()[i], wv = w.data<float>()[i];
      const bool ok = std::abs(gv - wv) <= 1e-5f + 1e-4f * std::abs(wv) || (std::isnan(gv) && std::isnan(wv));
      if (!ok) ++bad;
      EXPECT_TRUE(ok) << "output " << o << " element " << i << ": oneDNN " << gv << ", reference " << wv;
      if (again.ok()) {
        EXPECT_EQ(gv, (*again)[o].data<float>()[i]) << "second run differs at " << i;
      }
    }
  }
  auto steps = (*dnnl)->Steps(input_shapes);
  EXPECT_TRUE(steps.ok()) << steps.status();
  if (!steps.ok()) return {};
  std::string listing;
  for (const StepInfo& s : *steps) listing += "  " + s.node + " (" + s.op_type + "): " + s.implementation + "\n";
  if (e.node.empty()) return *steps;
  bool found = false;
  for (const StepInfo& s : *steps) {
    if (s.op_type == "Reorder" && e.no_reorder) {
      EXPECT_NE(s.node.rfind(e.node + ":", 0), 0u) << "reorder feeding " << e.node << ":\n" << listing;
    }
    if (s.node != e.node) continue;
    found = true;
    if (e.onednn) {
      EXPECT_NE(s.implementation, "reference") << listing;
    } else {
      EXPECT_EQ(s.implementation, "reference") << listing;
    }
    if (e.no_ref_impl) {
      EXPECT_NE(s.implementation.rfind("ref", 0), 0u) << listing;
    }
  }
  EXPECT_TRUE(found) << "no step " << e.node << ":\n" << listing;
  std::cout << listing;
  return *steps;
}

// ---- Eltwise ----------------------------------------------------------------------------

TEST(OneDnnEltwise, EachActivationPlain) {
  const std::vector<std::pair<std::string, Attributes>> cases = {
      {"Relu", {}},       {"LeakyRelu", Attrs({{"alpha", 0.2f}})}, {"Sigmoid", {}},
      {"Tanh", {}},       {"HardSwish", {}},                         {"Clip", {}}};
  for (const auto& [op, attrs] : cases) {
    SCOPED_TRACE(op);
    GraphBuilder b;
    const int x = b.Input({2, 3, 5, 7});
    const int y = b.Op(op, {x}, attrs);
    Check(b.Build({y}), {{2, 3, 5, 7}}, {op + "_0"});
  }
}

TEST(OneDnnEltwise, ClipBounds) {
  {  // opset 13: constant min/max inputs
    GraphBuilder b;
    const int x = b.Input({4, 9});
    const int y = b.Op("Clip", {x, b.Const(Tensor::Scalar(-0.5f)), b.Const(Tensor::Scalar(0.75f))});
    Check(b.Build({y}), {{4, 9}}, {"Clip_0"});
  }
  {  // opset 6: attributes
    GraphBuilder b(6);
    const int x = b.Input({4, 9});
    const int y = b.Op("Clip", {x}, Attrs({{"min", 0.f}, {"max", 6.f}}));
    Check(b.Build({y}), {{4, 9}}, {"Clip_0"});
  }
}

TEST(OneDnnEltwise, HardSigmoidFallsBack) {
  GraphBuilder b;
  const int x = b.Input({3, 8});
  const int y = b.Op("HardSigmoid", {x});
  Check(b.Build({y}), {{3, 8}}, {"HardSigmoid_0", false});
}

TEST(OneDnnEltwise, BlockedInputFromConv) {
  for (const std::string op : {"Relu", "Tanh", "HardSwish"}) {
    SCOPED_TRACE(op);
    GraphBuilder b;
    const int x = b.Input({2, 8, 6, 6});
    const int y = b.Op(op, {b.Conv(x, 8, 32)});
    Check(b.Build({y}), {{2, 8, 6, 6}}, {op + "_1", true, false, true, /*fuse=*/false});
  }
}

// ---- Binary -----------------------------------------------------------------------------

struct BinaryCase {
  std::string op;
  Shape a, b;
  bool a_const, b_const, onednn;
};

TEST(OneDnnBinary, Broadcasting) {
  const std::vector<BinaryCase> cases = {
      {"Add", {2, 3, 4, 5}, {2, 3, 4, 5}, false, false, true},
      {"Sub", {2, 3, 4, 5}, {2, 3, 4, 5}, false, false, true},
      {"Mul", {2, 3, 4, 5}, {5}, false, true, true},
      {"Div", {2, 3, 4, 5}, {3, 1, 1}, false, true, true},
      {"Sub", {2, 3, 4, 5}, {1, 3, 1, 5}, false, false, true},
      {"Add", {2, 3, 4, 5}, {}, false, true, true},
      {"Add", {5}, {2, 3, 4, 5}, true, false, true},    // only A broadcasts: swapped
      {"Mul", {3, 1, 1}, {2, 3, 4, 5}, false, false, true},
      {"Sub", {5}, {2, 3, 4, 5}, false, false, false},  // Sub cannot swap
      {"Div", {1, 4}, {3, 4}, false, false, false},
      {"Add", {2, 1, 4}, {1, 3, 1}, false, false, false},  // both broadcast
      {"Add", {1, 6}, {6}, false, false, true},             // ranks differ, same padded shape
      {"Div", {3, 4}, {3, 4}, false, true, true},
  };
  for (const BinaryCase& c : cases) {
    SCOPED_TRACE(c.op + " " + ShapeToString(c.a) + " " + ShapeToString(c.b));
    GraphBuilder b;
    std::vector<Shape> shapes;
    auto operand = [&](const Shape& s, bool constant) {
      if (constant) return c.op == "Div" ? b.Const(s, 0.5f, 2.f) : b.Const(s);
      shapes.push_back(s);
      return b.Input(s);
    };
    const int x = operand(c.a, c.a_const), y = operand(c.b, c.b_const);
    const int z = b.Op(c.op, {x, y});
    Check(b.Build({z}), shapes, {c.op + "_0", c.onednn, false, false, false});
  }
}

TEST(OneDnnBinary, BlockedInputsFromConvs) {
  {  // two Convs: both blocked, same layout
    GraphBuilder b;
    const int x = b.Input({1, 8, 7, 7});
    const int y = b.Op("Mul", {b.Conv(x, 8, 16), b.Conv(x, 8, 16)});
    Check(b.Build({y}), {{1, 8, 7, 7}}, {"Mul_2", true, false, true, false});
  }
  {  // a Conv and a same-shape constant: the constant is prepacked into the blocked layout
    GraphBuilder b;
    const int x = b.Input({1, 8, 7, 7});
    const int y = b.Op("Sub", {b.Const({1, 16, 7, 7}), b.Conv(x, 8, 16)});
    Check(b.Build({y}), {{1, 8, 7, 7}}, {"Sub_1", true, false, true, false});
  }
  {  // a Conv plus a per-channel constant: broadcast onto the blocked layout
    GraphBuilder b;
    const int x = b.Input({2, 8, 5, 5});
    const int y = b.Op("Add", {b.Conv(x, 8, 16), b.Const({16, 1, 1})});
    Check(b.Build({y}), {{2, 8, 5, 5}}, {"Add_1", true, false, true, false});
  }
  {  // squeeze-and-excitation: Conv * Sigmoid(GlobalAveragePool(Conv)), per-channel runtime scale
    GraphBuilder b;
    const int c = b.Conv(b.Input({2, 8, 6, 6}), 8, 32);
    const int s = b.Op("Sigmoid", {b.Op("GlobalAveragePool", {c})});
    const int y = b.Op("Mul", {s, c});  // A broadcasts: swapped
    auto steps = Check(b.Build({y}), {{2, 8, 6, 6}}, {"Mul_3", true, false, false, false});
    for (const StepInfo& st : steps) {
      EXPECT_NE(st.node, "Mul_3:input1") << "the Conv output was reordered";
    }
  }
}

// ---- Pooling ----------------------------------------------------------------------------

struct PoolCase {
  std::string op;
  Shape x;
  Attributes attrs;
  bool onednn;
};

TEST(OneDnnPool, Attributes) {
  const std::vector<PoolCase> cases = {
      {"MaxPool", {2, 3, 9, 9}, Attrs({{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}}), true},
      {"MaxPool", {1, 2, 8, 8}, Attrs({{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}, {"ceil_mode", int64_t{1}}}), true},
      {"MaxPool", {1, 2, 9, 10}, Attrs({{"kernel_shape", Ints{2, 3}}, {"dilations", Ints{2, 2}}}), true},
      {"MaxPool", {1, 3, 7, 7}, Attrs({{"kernel_shape", Ints{3, 3}}, {"auto_pad", std::string("SAME_UPPER")}, {"strides", Ints{2, 2}}}), true},
      {"MaxPool", {2, 3, 11}, Attrs({{"kernel_shape", Ints{3}}, {"strides", Ints{2}}}), true},
      {"MaxPool", {1, 2, 5, 6, 7}, Attrs({{"kernel_shape", Ints{2, 2, 2}}, {"strides", Ints{2, 2, 2}}, {"ceil_mode", int64_t{1}}}), true},
      {"AveragePool", {2, 3, 9, 9}, Attrs({{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}}), true},
      {"AveragePool", {2, 3, 9, 9}, Attrs({{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}, {"count_include_pad", int64_t{1}}}), true},
      {"AveragePool", {1, 2, 8, 8}, Attrs({{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}, {"ceil_mode", int64_t{1}}}), true},
      // ceil_mode grows the end padding; include-pad counts only explicit pads: reference.
      {"AveragePool", {1, 2, 8, 8}, Attrs({{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}, {"ceil_mode", int64_t{1}}, {"count_include_pad", int64_t{1}}}), false},
      // ceil_mode that does not grow the padding: oneDNN's divisor is right.
      {"AveragePool", {1, 2, 9, 9}, Attrs({{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}, {"ceil_mode", int64_t{1}}, {"count_include_pad", int64_t{1}}}), true},
      {"AveragePool", {1, 3, 7, 7}, Attrs({{"kernel_shape", Ints{2, 2}}, {"auto_pad", std::string("SAME_LOWER")}, {"count_include_pad", int64_t{1}}}), true},
      {"AveragePool", {2, 2, 10}, Attrs({{"kernel_shape", Ints{4}}, {"strides", Ints{3}}, {"pads", Ints{2, 1}}}), true},
      {"GlobalAveragePool", {2, 5, 7, 7}, {}, true},
      {"GlobalAveragePool", {2, 5, 13}, {}, true},
      {"GlobalAveragePool", {1, 4, 3, 4, 5}, {}, true},
  };
  for (const PoolCase& c : cases) {
    SCOPED_TRACE(c.op + " " + ShapeToString(c.x) + " case " + std::to_string(&c - cases.data()));
    GraphBuilder b;
    const int x = b.Input(c.x);
    const int y = b.Op(c.op, {x}, c.attrs);
    Check(b.Build({y}), {c.x}, {c.op + "_0", c.onednn});
  }
}

TEST(OneDnnPool, BlockedInputFromConv) {
  const std::vector<std::pair<std::string, Attributes>> cases = {
      {"MaxPool", Attrs({{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}})},
      {"AveragePool", Attrs({{"kernel_shape", Ints{3, 3}}, {"pads", Ints{1, 1, 1, 1}}, {"ceil_mode", int64_t{1}}, {"strides", Ints{2, 2}}})},
      {"GlobalAveragePool", {}},
  };
  for (const auto& [op, attrs] : cases) {
    SCOPED_TRACE(op);
    GraphBuilder b;
    const int x = b.Input({2, 8, 10, 10});
    const int y = b.Op(op, {b.Conv(x, 8, 32)}, attrs);
    Check(b.Build({y}), {{2, 8, 10, 10}}, {op + "_1", true, false, true});
  }
}

// ---- Softmax ----------------------------------------------------------------------------

TEST(OneDnnSoftmax, AxesAndOpsets) {
  const std::vector<std::tuple<int64_t, std::optional<int64_t>, Shape>> cases = {
      {13, std::nullopt, {4, 10}}, {13, -1, {2, 3, 17}}, {13, 1, {2, 5, 4}}, {13, 0, {6, 3}},
      {11, std::nullopt, {2, 3, 4}}, {11, 2, {2, 3, 4, 5}}, {1, 0, {3, 4}},
  };
  for (const auto& [opset, axis, shape] : cases) {
    SCOPED_TRACE("opset " + std::to_string(opset) + " " + ShapeToString(shape));
    GraphBuilder b(opset);
    const int x = b.Input(shape);
    Attributes a;
    if (axis) a.Set("axis", *axis);
    const int y = b.Op("Softmax", {x}, a);
    Check(b.Build({y}), {shape}, {"Softmax_0"});
  }
}

// ---- Concat -----------------------------------------------------------------------------

TEST(OneDnnConcat, PlainAxes) {
  for (int64_t axis : {0, 1, -1, 2}) {
    SCOPED_TRACE(axis);
    GraphBuilder b;
    Shape s1 = {2, 3, 4}, s2 = s1;
    const int64_t k = axis < 0 ? 2 : axis;
    s2[k] = 5;
    const int x = b.Input(s1), y = b.Input(s2);
    const int z = b.Op("Concat", {x, y, b.Const(s1)}, Attrs({{"axis", axis}}));
    Check(b.Build({z}), {s1, s2}, {"Concat_0"});
  }
}

TEST(OneDnnConcat, BlockedInputsFromConvs) {
  {  // channel counts that fill whole blocks: no reorders
    GraphBuilder b;
    const int x = b.Input({1, 8, 6, 6});
    const int z = b.Op("Concat", {b.Conv(x, 8, 16), b.Conv(x, 8, 32)}, Attrs({{"axis", int64_t{1}}}));
    Check(b.Build({z}), {{1, 8, 6, 6}}, {"Concat_2", true, false, true});
  }
  {  // odd channel counts and a spatial axis: whatever layout, same numbers
    GraphBuilder b;
    const int x = b.Input({2, 4, 6, 6});
    const int z1 = b.Op("Concat", {b.Conv(x, 4, 5), b.Conv(x, 4, 3)}, Attrs({{"axis", int64_t{1}}}));
    const int z2 = b.Op("Concat", {b.Conv(x, 4, 16), b.Conv(x, 4, 16)}, Attrs({{"axis", int64_t{3}}}));
    Check(b.Build({z1, z2}), {{2, 4, 6, 6}}, {"Concat_2"});
  }
}

// ---- BatchNormalization -----------------------------------------------------------------

int BatchNorm(GraphBuilder& b, int x, int64_t c) {
  return b.Op("BatchNormalization", {x, b.Const({c}), b.Const({c}), b.Const({c}), b.Const({c}, 0.2f, 2.f)},
              Attrs({{"epsilon", 1e-3f}}));
}

TEST(OneDnnBatchNorm, Shapes) {
  for (const Shape& s : std::vector<Shape>{{2, 3, 4, 5}, {4, 6}, {2, 3, 7}, {1, 2, 3, 4, 5}}) {
    SCOPED_TRACE(ShapeToString(s));
    GraphBuilder b;
    const int y = BatchNorm(b, b.Input(s), s[1]);
    Check(b.Build({y}), {s}, {"BatchNormalization_0"});
  }
  {  // blocked input from a Conv (folding off, so the BN stays a node)
    GraphBuilder b;
    const int y = BatchNorm(b, b.Conv(b.Input({2, 8, 5, 5}), 8, 16), 16);
    Check(b.Build({y}), {{2, 8, 5, 5}}, {"BatchNormalization_1", true, false, true, false});
  }
}

// ---- Gemm -------------------------------------------------------------------------------

struct GemmCase {
  int64_t trans_a, trans_b;
  float alpha, beta;
  Shape c;  // {} with c_rank -1: no C
  int c_rank;
  bool b_const, c_const;
};

TEST(OneDnnGemm, AttributesAndBias) {
  const int64_t M = 5, K = 12, N = 7;
  const std::vector<GemmCase> cases = {
      {0, 1, 1.f, 1.f, {N}, 1, true, true},       // inner product, transB
      {0, 0, 1.f, 1.f, {1, N}, 2, true, true},    // inner product, transposed at prepack
      {0, 1, 1.f, 0.5f, {}, 0, true, true},       // scalar C, beta
      {0, 0, 1.f, 1.f, {}, -1, true, true},       // no C
      {1, 0, 1.f, 1.f, {N}, 1, true, true},       // transA: matmul
      {1, 1, 2.5f, 1.f, {M, N}, 2, true, true},   // alpha: matmul with output scale
      {0, 0, 0.5f, 2.f, {M, 1}, 2, true, true},   // alpha, column C as binary post-op
      {0, 1, 1.f, 1.f, {M, N}, 2, true, true},    // full C as matmul bias
      {0, 0, 1.f, 1.f, {N}, 1, false, true},      // runtime B
      {1, 1, 1.f, 1.f, {M, N}, 2, false, false},  // runtime B and C
      {0, 0, 0.25f, 1.f, {1, N}, 2, false, false},
      {1, 0, 1.f, 1.f, {1, N}, 2, false, false},  // runtime row C as the bias
      {0, 1, 2.f, 1.f, {}, 0, true, false},       // runtime scalar C
      {0, 0, 1.f, -1.5f, {M, 1}, 2, false, true},  // constant column C, expanded
  };
  for (const GemmCase& c : cases) {
    SCOPED_TRACE("case " + std::to_string(&c - cases.data()));
    GraphBuilder b;
    std::vector<Shape> shapes;
    const Shape a_shape = c.trans_a ? Shape{K, M} : Shape{M, K};
    const Shape b_shape = c.trans_b ? Shape{N, K} : Shape{K, N};
    std::vector<int> in = {b.Input(a_shape)};
    shapes.push_back(a_shape);
    in.push_back(c.b_const ? b.Const(b_shape) : b.Input(b_shape));
    if (!c.b_const) shapes.push_back(b_shape);
    if (c.c_rank >= 0) {
      in.push_back(c.c_const ? b.Const(c.c) : b.Input(c.c));
      if (!c.c_const) shapes.push_back(c.c);
    }
    const int y = b.Op("Gemm", in, Attrs({{"transA", c.trans_a}, {"transB", c.trans_b}, {"alpha", c.alpha},
                                          {"beta", c.beta}}));
    Check(b.Build({y}), shapes, {"Gemm_0", true, true});
  }
}

TEST(OneDnnGemm, RuntimeCFallsBack) {
  {  // beta != 1 on a runtime C: no exact oneDNN form
    GraphBuilder b;
    const int y = b.Op("Gemm", {b.Input({3, 4}), b.Const({4, 5}), b.Input({3, 5})}, Attrs({{"beta", 0.5f}}));
    Check(b.Build({y}), {{3, 4}, {3, 5}}, {"Gemm_0", false});
  }
  {  // a runtime column C: oneDNN has only its "ref" matmul for that broadcast
    GraphBuilder b;
    const int y = b.Op("Gemm", {b.Input({3, 4}), b.Const({4, 5}), b.Input({3, 1})});
    Check(b.Build({y}), {{3, 4}, {3, 1}}, {"Gemm_0", false});
  }
}

TEST(OneDnnGemm, FusedActivationsAndMatMulFolding) {
  {  // Gemm -> Relu fuses into the inner product
    GraphBuilder b;
    const int g = b.Op("Gemm", {b.Input({4, 16}), b.Const({8, 16}), b.Const({8})}, Attrs({{"transB", int64_t{1}}}));
    const int y = b.Op("Relu", {g});
    auto steps = Check(b.Build({y}), {{4, 16}}, {"Gemm_0", true, true});
    EXPECT_EQ(steps.size(), 1u);
  }
  {  // alpha != 1 (matmul path) -> Clip
    GraphBuilder b;
    const int g = b.Op("Gemm", {b.Input({4, 16}), b.Const({16, 8})}, Attrs({{"alpha", 3.f}}));
    const int y = b.Op("Clip", {g, b.Const(Tensor::Scalar(-1.f)), b.Const(Tensor::Scalar(1.f))});
    auto steps = Check(b.Build({y}), {{4, 16}}, {"Gemm_0", true, true});
    EXPECT_EQ(steps.size(), 1u);
  }
  {  // MatMul by a constant 2-D matrix becomes Gemm (inner product); then Sigmoid fuses
    GraphBuilder b;
    const int y = b.Op("Sigmoid", {b.Op("MatMul", {b.Input({6, 10}), b.Const({10, 3})})});
    Check(b.Build({y}), {{6, 10}}, {"MatMul_0", true, true});
  }
  {  // Conv -> Flatten -> Gemm: the classifier head
    GraphBuilder b;
    const int f = b.Op("Flatten", {b.Conv(b.Input({2, 3, 4, 4}), 3, 16)}, Attrs({{"axis", int64_t{1}}}));
    const int y = b.Op("Gemm", {f, b.Const({10, 256}), b.Const({10})}, Attrs({{"transB", int64_t{1}}}));
    Check(b.Build({y}), {{2, 3, 4, 4}}, {"Gemm_2", true, true});
  }
}

// ---- MatMul -----------------------------------------------------------------------------

TEST(OneDnnMatMul, BatchedAndBroadcast) {
  const std::vector<std::tuple<Shape, Shape, bool>> cases = {
      {{4, 5}, {5, 6}, false},
      {{2, 3, 4, 5}, {2, 3, 5, 6}, false},
      {{2, 1, 4, 5}, {3, 5, 6}, false},
      {{4, 5}, {2, 5, 6}, false},
      {{2, 4, 5}, {5, 6}, false},
      {{5}, {2, 5, 6}, false},
      {{2, 4, 5}, {5}, false},
      {{5}, {5}, false},
      {{2, 3, 4, 5}, {3, 5, 6}, true},  // constant B, prepacked
      {{3, 4, 5}, {5, 7}, true},
  };
  for (const auto& [a, bs, b_const] : cases) {
    SCOPED_TRACE(ShapeToString(a) + " x " + ShapeToString(bs));
    GraphBuilder b;
    std::vector<Shape> shapes = {a};
    const int x = b.Input(a);
    const int w = b_const ? b.Const(bs) : b.Input(bs);
    if (!b_const) shapes.push_back(bs);
    const int y = b.Op("MatMul", {x, w});
    // Folding off: a constant 2-D B would otherwise turn the MatMul into a Gemm.
    Check(b.Build({y}), shapes, {"MatMul_0", true, true, false, false});
  }
}

// ---- Transpose and view ops -------------------------------------------------------------

TEST(OneDnnTranspose, Perms) {
  for (const Ints& perm : std::vector<Ints>{{0, 2, 3, 1}, {3, 2, 1, 0}, {1, 0, 2, 3}}) {
    GraphBuilder b;
    const int y = b.Op("Transpose", {b.Input({2, 3, 4, 5})}, Attrs({{"perm", perm}}));
    Check(b.Build({y}), {{2, 3, 4, 5}}, {"Transpose_0"});
  }
  GraphBuilder b;  // default perm: reversed
  const int y = b.Op("Transpose", {b.Input({3, 7})});
  Check(b.Build({y}), {{3, 7}}, {"Transpose_0"});
}

TEST(OneDnnViews, ReshapeFlattenSqueezeUnsqueeze) {
  GraphBuilder b;
  const int c = b.Conv(b.Input({2, 4, 3, 3}), 4, 16);
  const int r = b.Op("Reshape", {c, b.Const(Tensor::FromInt64s({3}, {2, 16, 9}))});
  const int u = b.Op("Unsqueeze", {r, b.Const(Tensor::FromInt64s({1}, {1}))});
  const int s = b.Op("Squeeze", {u, b.Const(Tensor::FromInt64s({1}, {1}))});
  const int f = b.Op("Flatten", {s}, Attrs({{"axis", int64_t{1}}}));
  auto steps = Check(b.Build({f}), {{2, 4, 3, 3}}, {"Flatten_4"});
  for (const StepInfo& st : steps) {
    if (st.op_type != "Conv" && st.op_type != "Reorder") {
      EXPECT_EQ(st.implementation, "copy") << st.node;
    }
  }
}

}  // namespace
}  // namespace qbench
