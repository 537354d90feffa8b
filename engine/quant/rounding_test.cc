// Weight rounding (quant/rounding.h) and the Hessians it reads (quant/hessian.h).
//
// The Hessian is checked against the layer itself: tr(dW H dW^T) must equal the summed
// squared difference of the reference Conv/Gemm run with W and with W + dW on the same
// inputs, for strided, padded, dilated, grouped and depthwise convolutions. GPTQ and
// AdaRound are checked for what they promise: integers on the grid, each weight at
// floor or ceil (AdaRound), a smaller output error than nearest rounding on correlated
// inputs, exactly nearest rounding when the inputs are uncorrelated (GPTQ), determinism.
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "engine/kernels/reference/conv.h"
#include "engine/ops/conv.h"
#include "spec/quant_config.h"
#include "engine/quant/hessian.h"
#include "engine/quant/rounding.h"

namespace qbench::quant {
namespace {

Tensor RandomTensor(Shape shape, std::mt19937& rng, float scale = 1.f) {
  Tensor t(DType::kF32, shape);
  std::normal_distribution<float> d(0.f, scale);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

struct ConvCase {
  int64_t c, m, group, k, stride, pad, dilation;
};

Node ConvNode(const ConvCase& cc) {
  Node n;
  n.name = "conv";
  n.op_type = "Conv";
  n.attrs.Set("group", cc.group);
  n.attrs.Set("strides", std::vector<int64_t>{cc.stride, cc.stride});
  n.attrs.Set("pads", std::vector<int64_t>{cc.pad, cc.pad, cc.pad, cc.pad});
  n.attrs.Set("dilations", std::vector<int64_t>{cc.dilation, cc.dilation});
  return n;
}

std::vector<float> RunConv(const Node& n, const Tensor& x, const Tensor& w) {
  const TensorMeta meta[] = {{DType::kF32, x.shape(), nullptr, true}, {DType::kF32, w.shape(), &w, true}};
  ConvParams p = *ParseConv(n, meta);
  int64_t out = p.batch * p.out_channels;
  for (int64_t o : p.window.out) out *= o;
  std::vector<float> y(out);
  ReferenceConv(p, x.data<float>(), w.data<float>(), nullptr, y.data());
  return y;
}

class HessianTest : public ::testing::TestWithParam<ConvCase> {};

TEST_P(HessianTest, QuadraticFormIsTheConvOutputError) {
  const ConvCase cc = GetParam();
  std::mt19937 rng(7);
  const Node n = ConvNode(cc);
  const Tensor x = RandomTensor({3, cc.c, 7, 6}, rng);
  const Tensor w = RandomTensor({cc.m, cc.c / cc.group, cc.k, cc.k}, rng);
  const Tensor dw = RandomTensor(w.shape(), rng, 0.1f);
  Tensor w2 = w.Clone();
  for (int64_t i = 0; i < w.num_elements(); ++i) w2.data<float>()[i] += dw.data<float>()[i];
  LayerHessian h;
  // Two batches: accumulation must add up.
  ASSERT_TRUE(AccumulateHessian(n, w, x, &h).ok());
  ASSERT_TRUE(AccumulateHessian(n, w, x, &h).ok());
  ASSERT_EQ(h.groups, cc.group);
  ASSERT_EQ(h.cols, cc.c / cc.group * cc.k * cc.k);
  const std::vector<float> y = RunConv(n, x, w), y2 = RunConv(n, x, w2);
  double direct = 0;
  for (size_t i = 0; i < y.size(); ++i) direct += 2.0 * (y2[i] - y[i]) * (y2[i] - y[i]);
  // sum over groups and their rows of dw_r^T H_g dw_r.
  const int64_t rows_per_group = cc.m / cc.group, cols = h.cols;
  double form = 0;
  for (int64_t r = 0; r < cc.m; ++r) {
    const float* hg = h.h.data() + (r / rows_per_group) * cols * cols;
    const float* d = dw.data<float>() + r * cols;
    for (int64_t a = 0; a < cols; ++a)
      for (int64_t b = 0; b < cols; ++b) form += static_cast<double>(d[a]) * hg[a * cols + b] * d[b];
  }
  EXPECT_NEAR(form, direct, 1e-4 * direct);
  EXPECT_EQ(h.rows, 2 * 3 * static_cast<int64_t>(y.size() / (3 * cc.m)));
}

INSTANTIATE_TEST_SUITE_P(Geometries, HessianTest,
                         ::testing::Values(ConvCase{3, 4, 1, 3, 1, 1, 1}, ConvCase{4, 6, 2, 3, 2, 1, 1},
                                           ConvCase{4, 4, 4, 3, 1, 1, 1}, ConvCase{2, 3, 1, 3, 1, 2, 2},
                                           ConvCase{5, 2, 1, 1, 1, 0, 1}));

TEST(HessianTest, GemmHessianIsXTransposeX) {
  Node n;
  n.name = "fc";
  n.op_type = "Gemm";
  n.attrs.Set("transB", int64_t{1});
  const Tensor x = Tensor::FromFloats({2, 3}, {1, 2, 3, -1, 0, 2});
  const Tensor w = Tensor::FromFloats({1, 3}, {0, 0, 0});
  LayerHessian h;
  ASSERT_TRUE(AccumulateHessian(n, w, x, &h).ok());
  EXPECT_EQ(h.cols, 3);
  const std::vector<float> want = {2, 2, 1, 2, 4, 6, 1, 6, 13};
  for (int i = 0; i < 9; ++i) EXPECT_FLOAT_EQ(h.h[i], want[i]) << i;
  EXPECT_FALSE(AccumulateHessian(n, w, Tensor::FromFloats({1, 2}, {1, 2}), &h).ok());
}

// A rounding problem with strongly correlated inputs: x = A z with z ~ N(0, I), so
// H = sum x x^T is far from diagonal and rounding errors can cancel through it.
struct Problem {
  std::vector<float> w, h, scale;
  std::vector<int32_t> zero;
  RoundingProblem p;
};

Problem MakeProblem(int64_t rows, int64_t cols, int bits, bool correlated, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  Problem pr;
  pr.w.resize(rows * cols);
  for (float& v : pr.w) v = nd(rng);
  const int64_t samples = 4 * cols;
  std::vector<float> x(samples * cols);
  std::vector<float> mix(cols * cols);
  for (int64_t a = 0; a < cols; ++a)
    for (int64_t b = 0; b < cols; ++b) mix[a * cols + b] = correlated ? (a == b ? 1.f : 0.f) + 0.6f * nd(rng) : a == b;
  for (int64_t s = 0; s < samples; ++s) {
    std::vector<float> z(cols);
    for (float& v : z) v = nd(rng);
    for (int64_t a = 0; a < cols; ++a) {
      double acc = 0;
      for (int64_t b = 0; b < cols; ++b) acc += mix[a * cols + b] * z[b];
      x[s * cols + a] = static_cast<float>(acc);
    }
  }
  pr.h.assign(cols * cols, 0.f);
  for (int64_t s = 0; s < samples; ++s)
    for (int64_t a = 0; a < cols; ++a)
      for (int64_t b = 0; b < cols; ++b)
        pr.h[a * cols + b] += correlated ? x[s * cols + a] * x[s * cols + b] : (a == b ? 1.f : 0.f);
  const int32_t qmax = (1 << (bits - 1)) - 1;
  for (int64_t r = 0; r < rows; ++r) {
    float amax = 0;
    for (int64_t c = 0; c < cols; ++c) amax = std::max(amax, std::abs(pr.w[r * cols + c]));
    pr.scale.push_back(amax / qmax);
    pr.zero.push_back(0);
  }
  pr.p = {rows, cols, pr.w.data(), pr.h.data(), samples, pr.scale.data(), pr.zero.data(), -qmax, qmax};
  return pr;
}

TEST(GptqTest, FeedsErrorBackAndBeatsNearestOnCorrelatedInputs) {
  for (int bits : {2, 4}) {
    const Problem pr = MakeProblem(8, 24, bits, true, 3);
    std::vector<int32_t> nearest(8 * 24), gptq(8 * 24);
    NearestRound(pr.p, nearest.data());
    ASSERT_TRUE(GptqRound(pr.p, RoundingOptions{Rounding::kGptq}, gptq.data()).ok());
    for (int32_t v : gptq) {
      EXPECT_GE(v, pr.p.qmin);
      EXPECT_LE(v, pr.p.qmax);
    }
    const double en = OutputError(pr.p, nearest.data()), eg = OutputError(pr.p, gptq.data());
    EXPECT_LT(eg, 0.8 * en) << bits << " bits: gptq " << eg << " vs nearest " << en;
    EXPECT_NE(gptq, nearest);
  }
}

TEST(GptqTest, IsNearestRoundingWhenInputsAreUncorrelated) {
  // H diagonal: no column's error can be absorbed by another, so GPTQ reduces to nearest.
  const Problem pr = MakeProblem(4, 16, 4, false, 5);
  std::vector<int32_t> nearest(64), gptq(64);
  NearestRound(pr.p, nearest.data());
  ASSERT_TRUE(GptqRound(pr.p, RoundingOptions{Rounding::kGptq}, gptq.data()).ok());
  EXPECT_EQ(gptq, nearest);
}

TEST(GptqTest, ActOrderIsDeterministicAndNoWorseThanPlainOrderHere) {
  const Problem pr = MakeProblem(6, 20, 3, true, 11);
  RoundingOptions plain{Rounding::kGptq};
  plain.act_order = false;
  std::vector<int32_t> a(120), b(120), c(120);
  ASSERT_TRUE(GptqRound(pr.p, RoundingOptions{Rounding::kGptq}, a.data()).ok());
  ASSERT_TRUE(GptqRound(pr.p, RoundingOptions{Rounding::kGptq}, b.data()).ok());
  ASSERT_TRUE(GptqRound(pr.p, plain, c.data()).ok());
  EXPECT_EQ(a, b);
  std::vector<int32_t> nearest(120);
  NearestRound(pr.p, nearest.data());
  EXPECT_LT(OutputError(pr.p, c.data()), OutputError(pr.p, nearest.data()));
}

TEST(AdaroundTest, RoundsEachWeightUpOrDownAndBeatsNearest) {
  const Problem pr = MakeProblem(8, 24, 4, true, 3);
  RoundingOptions o{Rounding::kAdaround};
  o.iterations = 2000;
  std::vector<int32_t> nearest(8 * 24), ada(8 * 24), again(8 * 24);
  NearestRound(pr.p, nearest.data());
  ASSERT_TRUE(AdaroundRound(pr.p, o, ada.data()).ok());
  ASSERT_TRUE(AdaroundRound(pr.p, o, again.data()).ok());
  EXPECT_EQ(ada, again);
  for (int64_t r = 0; r < 8; ++r)
    for (int64_t c = 0; c < 24; ++c) {
      const double x = pr.w[r * 24 + c] / pr.scale[r];
      const int32_t v = ada[r * 24 + c];
      EXPECT_TRUE(v == std::clamp(static_cast<int32_t>(std::floor(x)), pr.p.qmin, pr.p.qmax) ||
                  v == std::clamp(static_cast<int32_t>(std::floor(x)) + 1, pr.p.qmin, pr.p.qmax))
          << r << "," << c << ": " << x << " -> " << v;
    }
  const double en = OutputError(pr.p, nearest.data()), ea = OutputError(pr.p, ada.data());
  EXPECT_LT(ea, 0.8 * en) << "adaround " << ea << " vs nearest " << en;
}

TEST(RoundLayerWeightsTest, GemmWithoutTransBRoundsColumnsOfB) {
  // B {K=12, N=5}: output n's weights are column n. The report's SQNRs must match a
  // direct computation, and re-rounding keeps the scales.
  std::mt19937 rng(2);
  Node n;
  n.name = "fc";
  n.op_type = "Gemm";
  const Tensor w = RandomTensor({12, 5}, rng);
  Tensor x = RandomTensor({64, 12}, rng);
  for (int64_t s = 0; s < 64; ++s)  // correlate the inputs
    for (int64_t k = 1; k < 12; ++k) x.data<float>()[s * 12 + k] += 0.8f * x.data<float>()[s * 12 + k - 1];
  LayerHessian h;
  ASSERT_TRUE(AccumulateHessian(n, w, x, &h).ok());
  WeightSpec spec;
  spec.bits = 3;
  auto qw = QuantizeWeights(w, 1, spec, ScaleConstraint::kFloat, "fc");
  ASSERT_TRUE(qw.ok());
  const QuantParams before = qw->params;
  auto rep = RoundLayerWeights(n, w, h, RoundingOptions{Rounding::kGptq}, &*qw);
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_EQ(qw->params, before);
  EXPECT_EQ(rep->method, Rounding::kGptq) << rep->note;
  EXPECT_GT(rep->sqnr_db, rep->nearest_sqnr_db);
  // Direct: the Gemm outputs with the dequantized weights.
  double signal = 0, noise = 0;
  for (int64_t s = 0; s < 64; ++s)
    for (int64_t j = 0; j < 5; ++j) {
      double y = 0, yq = 0;
      for (int64_t k = 0; k < 12; ++k) {
        const float xv = x.data<float>()[s * 12 + k];
        y += xv * w.data<float>()[k * 5 + j];
        yq += xv * DequantizeValue(qw->q.data<int8_t>()[k * 5 + j], qw->params.scale[j], 0);
      }
      signal += y * y;
      noise += (y - yq) * (y - yq);
    }
  EXPECT_NEAR(rep->sqnr_db, 10 * std::log10(signal / noise), 0.01);
}

TEST(RoundLayerWeightsTest, QuantizedInputsReconstructFp32Outputs) {
  // Gemm {N=4, K=10} (transB) with inputs x and their perturbed copy xq = x + noise, the
  // quantized model's inputs. With xq = x the pair Hessians are the plain one three times
  // and the rounding is exactly the FP32-input one (W* = W whatever the damping). With
  // noise, the reported SQNR is that of ||W_q Xq - W X||^2, computed here directly.
  std::mt19937 rng(4);
  Node n;
  n.name = "fc";
  n.op_type = "Gemm";
  n.attrs.Set("transB", int64_t{1});
  const Tensor w = RandomTensor({4, 10}, rng);
  Tensor x = RandomTensor({200, 10}, rng);
  for (int64_t s = 0; s < 200; ++s)
    for (int64_t k = 1; k < 10; ++k) x.data<float>()[s * 10 + k] += 0.7f * x.data<float>()[s * 10 + k - 1];
  Tensor xq = x.Clone();
  const Tensor noise = RandomTensor({200, 10}, rng, 0.2f);
  for (int64_t i = 0; i < xq.num_elements(); ++i) xq.data<float>()[i] += noise.data<float>()[i];
  WeightSpec spec;
  spec.bits = 3;
  const auto base = QuantizeWeights(w, 0, spec, ScaleConstraint::kFloat, "fc");
  ASSERT_TRUE(base.ok());

  LayerHessian plain, same, pair;
  ASSERT_TRUE(AccumulateHessian(n, w, x, &plain).ok());
  ASSERT_TRUE(AccumulateHessianPair(n, w, x, x, &same).ok());
  ASSERT_TRUE(AccumulateHessianPair(n, w, x, xq, &pair).ok());
  EXPECT_EQ(same.h, plain.h);
  EXPECT_EQ(same.cross, plain.h);
  EXPECT_EQ(same.h_fp32, plain.h);
  EXPECT_FALSE(AccumulateHessian(n, w, x, &pair).ok());  // kinds do not mix
  // Tensors share their buffers on copy: each rounding gets its own.
  const auto copy = [&] { return QuantizedWeights{base->q.Clone(), base->params}; };
  QuantizedWeights a = copy(), b = copy(), c = copy();
  ASSERT_TRUE(RoundLayerWeights(n, w, plain, RoundingOptions{Rounding::kGptq}, &a).ok());
  ASSERT_TRUE(RoundLayerWeights(n, w, same, RoundingOptions{Rounding::kGptq}, &b).ok());
  EXPECT_EQ(std::vector<int8_t>(a.q.data<int8_t>(), a.q.data<int8_t>() + 40),
            std::vector<int8_t>(b.q.data<int8_t>(), b.q.data<int8_t>() + 40));

  auto rep = RoundLayerWeights(n, w, pair, RoundingOptions{Rounding::kGptq}, &c);
  ASSERT_TRUE(rep.ok()) << rep.status();
  double signal = 0, err = 0, err_nearest = 0;
  for (int64_t s = 0; s < 200; ++s)
    for (int64_t j = 0; j < 4; ++j) {
      double y = 0, yq = 0, yn = 0;
      for (int64_t k = 0; k < 10; ++k) {
        const float sc = c.params.scale[j];
        y += x.data<float>()[s * 10 + k] * w.data<float>()[j * 10 + k];
        yq += xq.data<float>()[s * 10 + k] * DequantizeValue(c.q.data<int8_t>()[j * 10 + k], sc, 0);
        yn += xq.data<float>()[s * 10 + k] * DequantizeValue(base->q.data<int8_t>()[j * 10 + k], sc, 0);
      }
      signal += y * y;
      err += (yq - y) * (yq - y);
      err_nearest += (yn - y) * (yn - y);
    }
  EXPECT_NEAR(rep->sqnr_db, 10 * std::log10(signal / err), 0.02);
  EXPECT_NEAR(rep->nearest_sqnr_db, 10 * std::log10(signal / err_nearest), 0.02);
  EXPECT_GT(rep->sqnr_db, rep->nearest_sqnr_db);
}

TEST(RoundingConfigTest, ParsesNamesObjectsAndOverrides) {
  using json = nlohmann::json;
  auto c = ParseConfig(json{{"name", "g"}, {"preset", "w4a8"}, {"weights", {{"rounding", "gptq"}}}}, "configs[0]");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->rounding.method, Rounding::kGptq);
  EXPECT_TRUE(c->needs_hessians());
  c = ParseConfig(json::parse(R"({"name": "a", "preset": "w4a8",
      "weights": {"rounding": {"method": "adaround", "iterations": 500}},
      "overrides": [{"node": "fc", "weights": {"rounding": "nearest"}}]})"),
                  "configs[1]");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->rounding.method, Rounding::kAdaround);
  EXPECT_EQ(c->rounding.iterations, 500);
  ASSERT_EQ(c->overrides.size(), 1u);
  EXPECT_EQ(c->overrides[0].rounding, Rounding::kNearest);
  EXPECT_EQ(ConfigToJson(*c)["weights"]["rounding"]["method"], "adaround");
  EXPECT_EQ(ConfigToJson(*c)["overrides"][0]["weights"]["rounding"], "nearest");
  EXPECT_FALSE(ParseConfig(json{{"name", "w8a8"}}, "configs[2]")->needs_hessians());
  c = ParseConfig(json::parse(R"({"name": "q", "weights": {"rounding": {"method": "gptq", "inputs": "quantized"}}})"),
                  "configs[4]");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->rounding.quantized_inputs);
  EXPECT_EQ(ConfigToJson(*c)["weights"]["rounding"]["inputs"], "quantized");

  const auto error = [](const char* spec) {
    auto r = ParseConfig(json::parse(spec), "configs[3]");
    return r.ok() ? std::string("ok") : std::string(r.status().message());
  };
  EXPECT_NE(error(R"({"name": "x", "weights": {"rounding": "block"}})").find("not available yet"), std::string::npos);
  EXPECT_NE(error(R"({"name": "x", "weights": {"rounding": "stochastic"}})").find("expected nearest, gptq"),
            std::string::npos);
  EXPECT_NE(error(R"({"name": "x", "weights": {"rounding": {"method": "adaround", "iterations": 1e12}}})")
                .find("iterations"),
            std::string::npos);
  EXPECT_NE(error(R"({"name": "x", "weights": {"rounding": {"iterations": 5}}})").find("method\" is required"),
            std::string::npos);
  EXPECT_NE(error(R"({"name": "x", "weights": {"rounding": {"method": "gptq", "damp": -1}}})").find("damp"),
            std::string::npos);
  EXPECT_NE(error(R"({"name": "x", "weights": {"rounding": {"method": "gptq", "inputs": "int8"}}})")
                .find("must be fp32 or quantized"),
            std::string::npos);
}

}  // namespace
}  // namespace qbench::quant
