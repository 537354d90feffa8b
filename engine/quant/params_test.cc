// Choosing parameters, rounding, per-channel weights, dyadic multipliers and SQNR.
// Expected values are worked by hand in the comments.
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "engine/ops/tensor_test_util.h"
#include "engine/quant/qparams.h"

namespace qbench::quant {
namespace {

using testing::ExpectError;
using testing::Values;

// The real range a set of parameters represents: [scale (qmin - zp), scale (qmax - zp)].
float RealLo(const QuantParams& p) { return DequantizeValue(p.qmin, p.scale[0], p.zero_point[0]); }
float RealHi(const QuantParams& p) { return DequantizeValue(p.qmax, p.scale[0], p.zero_point[0]); }

TEST(ChooseParamsTest, RangeAlwaysHoldsZero) {
  // [2, 5] widens to [0, 5]: scale 5/255, zero point 0; q = 0 is real 0, q = 255 is 5.
  QuantParams p = ChooseParams(2.f, 5.f, QuantGrid{8, false}, /*symmetric=*/false);
  EXPECT_EQ(p.dtype, DType::kU8);
  EXPECT_FLOAT_EQ(p.scale[0], 5.f / 255.f);
  EXPECT_EQ(p.zero_point[0], 0);
  EXPECT_EQ(RealLo(p), 0.f);
  EXPECT_FLOAT_EQ(RealHi(p), 5.f);
  // [-5, -2] widens to [-5, 0]: zero point at the top of the grid.
  p = ChooseParams(-5.f, -2.f, QuantGrid{8, false}, false);
  EXPECT_FLOAT_EQ(p.scale[0], 5.f / 255.f);
  EXPECT_EQ(p.zero_point[0], 255);
  EXPECT_EQ(DequantizeValue(QuantizeValue(0.f, p.scale[0], p.zero_point[0], 0, 255), p.scale[0], p.zero_point[0]), 0.f);
}

TEST(ChooseParamsTest, AsymmetricZeroPoint) {
  // [-1, 2] on u8: scale 3/255; zero point qmin - lo/scale = 0 + 1 * 255/3 = 85 (already whole).
  QuantParams p = ChooseParams(-1.f, 2.f, QuantGrid{8, false}, false);
  EXPECT_FLOAT_EQ(p.scale[0], 3.f / 255.f);
  EXPECT_EQ(p.zero_point[0], 85);
  EXPECT_EQ(p.qmin, 0);
  EXPECT_EQ(p.qmax, 255);
  EXPECT_FALSE(p.per_channel());
  EXPECT_FALSE(p.narrow());
}

TEST(ChooseParamsTest, ZeroPointIsNudgedToAnInteger) {
  // [-1, 3] on u8: scale 4/255, real zero point 255/4 = 63.75, nudged to 64. Real 0 is
  // then exact, and the grid covers [-64*4/255, 191*4/255] = [-1.0039, 2.9961].
  QuantParams p = ChooseParams(-1.f, 3.f, QuantGrid{8, false}, false);
  EXPECT_FLOAT_EQ(p.scale[0], 4.f / 255.f);
  EXPECT_EQ(p.zero_point[0], 64);
  EXPECT_EQ(QuantizeValue(0.f, p.scale[0], 64, 0, 255), 64);
  EXPECT_EQ(DequantizeValue(64, p.scale[0], 64), 0.f);
  EXPECT_NEAR(RealLo(p), -64 * 4.0 / 255, 1e-6);
  EXPECT_NEAR(RealHi(p), 191 * 4.0 / 255, 1e-6);
  // Signed asymmetric: [-1, 3] on s8: zero point -128 + 63.75 = -64.25 -> -64.
  p = ChooseParams(-1.f, 3.f, QuantGrid{8, true}, false);
  EXPECT_EQ(p.dtype, DType::kS8);
  EXPECT_EQ(p.zero_point[0], -64);
}

TEST(ChooseParamsTest, SymmetricSigned) {
  // [-0.5, 2.54] on s8: amax 2.54, scale 2.54/127 = 0.02, zero point 0.
  QuantParams p = ChooseParams(-0.5f, 2.54f, QuantGrid{8, true}, /*symmetric=*/true);
  EXPECT_FLOAT_EQ(p.scale[0], 0.02f);
  EXPECT_EQ(p.zero_point[0], 0);
  EXPECT_EQ(p.qmin, -128);
  EXPECT_EQ(p.qmax, 127);
  // The larger side sets the scale: [-2.54, 1] gives the same.
  EXPECT_FLOAT_EQ(ChooseParams(-2.54f, 1.f, QuantGrid{8, true}, true).scale[0], 0.02f);
}

TEST(ChooseParamsTest, SymmetricUnsigned) {
  // Non-negative [0.5, 2.55] on u8: zero point 0, the whole grid: scale 2.55/255 = 0.01.
  QuantParams p = ChooseParams(0.5f, 2.55f, QuantGrid{8, false}, true);
  EXPECT_EQ(p.zero_point[0], 0);
  EXPECT_FLOAT_EQ(p.scale[0], 0.01f);
  // With negatives the zero point is the middle, 128, and the shorter side (127 steps)
  // covers amax: [-1, 2.54] -> scale 2.54/127 = 0.02.
  p = ChooseParams(-1.f, 2.54f, QuantGrid{8, false}, true);
  EXPECT_EQ(p.zero_point[0], 128);
  EXPECT_FLOAT_EQ(p.scale[0], 0.02f);
}

TEST(ChooseParamsTest, AllZeroRange) {
  // Any scale represents 0 exactly; the code picks 1 so nothing divides by zero.
  for (bool symmetric : {false, true}) {
    for (bool is_signed : {false, true}) {
      QuantParams p = ChooseParams(0.f, 0.f, QuantGrid{8, is_signed}, symmetric);
      EXPECT_EQ(p.scale[0], 1.f);
      EXPECT_EQ(DequantizeValue(QuantizeValue(0.f, p.scale[0], p.zero_point[0], p.qmin, p.qmax), p.scale[0],
                                p.zero_point[0]),
                0.f);
    }
  }
}

TEST(ChooseParamsTest, PowerOfTwoRoundsUpAndStillCovers) {
  // Symmetric s8 [-1, 2]: 2/127 = 0.01575 = 2^-5.99, rounded up to 2^-5 = 0.03125.
  QuantParams p = ChooseParams(-1.f, 2.f, QuantGrid{8, true}, true, ScaleConstraint::kPowerOfTwo);
  EXPECT_EQ(p.scale[0], 0.03125f);
  EXPECT_GE(RealHi(p), 2.f);
  EXPECT_LE(RealLo(p), -1.f);
  // Asymmetric u8 [-1, 2]: 3/255 = 0.01176 = 2^-6.4 -> 2^-6; zero point 1 * 64 = 64;
  // the grid covers [-1, 191/64 = 2.98].
  p = ChooseParams(-1.f, 2.f, QuantGrid{8, false}, false, ScaleConstraint::kPowerOfTwo);
  EXPECT_EQ(p.scale[0], 1.f / 64);
  EXPECT_EQ(p.zero_point[0], 64);
  EXPECT_LE(RealLo(p), -1.f);
  EXPECT_GE(RealHi(p), 2.f);
  // Already a power of two: u8 [0, 255/128] gives exactly 2^-7, which stays.
  p = ChooseParams(0.f, 255.f / 128, QuantGrid{8, false}, false, ScaleConstraint::kPowerOfTwo);
  EXPECT_EQ(p.scale[0], 1.f / 128);
}

TEST(ChooseParamsTest, FourBitGrids) {
  // Unsigned 4-bit [0, 15] in u8 storage: [-1, 2] -> scale 3/15 = 0.2, zero point 5.
  QuantParams u4 = ChooseParams(-1.f, 2.f, QuantGrid{4, false}, false);
  EXPECT_EQ(u4.dtype, DType::kU8);
  EXPECT_EQ(u4.qmin, 0);
  EXPECT_EQ(u4.qmax, 15);
  EXPECT_EQ(u4.bits, 4);
  EXPECT_TRUE(u4.narrow());
  EXPECT_FLOAT_EQ(u4.scale[0], 0.2f);
  EXPECT_EQ(u4.zero_point[0], 5);
  // Signed 4-bit [-8, 7] in s8 storage: symmetric [-0.7, 0.35] -> scale 0.7/7 = 0.1.
  QuantParams s4 = ChooseParams(-0.7f, 0.35f, QuantGrid{4, true}, true);
  EXPECT_EQ(s4.dtype, DType::kS8);
  EXPECT_EQ(s4.qmin, -8);
  EXPECT_EQ(s4.qmax, 7);
  EXPECT_FLOAT_EQ(s4.scale[0], 0.1f);
  EXPECT_EQ(s4.zero_point[0], 0);
  // Values saturate at the 4-bit edges, not the 8-bit ones: -0.8/0.1 = -8, -5/0.1 -> -8, 1/0.1 -> 7.
  EXPECT_EQ(QuantizeValue(-5.f, s4.scale[0], 0, s4.qmin, s4.qmax), -8);
  EXPECT_EQ(QuantizeValue(1.f, s4.scale[0], 0, s4.qmin, s4.qmax), 7);
  // 2-bit signed: [-2, 1].
  EXPECT_EQ((QuantGrid{2, true}.qmin()), -2);
  EXPECT_EQ((QuantGrid{2, true}.qmax()), 1);
}

TEST(QuantizeValueTest, RoundsHalfToEvenAndSaturates) {
  // x / scale = 2.5 -> 2, 3.5 -> 4, -2.5 -> -2 (ONNX QuantizeLinear rounding), not away from zero.
  EXPECT_EQ(QuantizeValue(1.25f, 0.5f, 0, -128, 127), 2);
  EXPECT_EQ(QuantizeValue(1.75f, 0.5f, 0, -128, 127), 4);
  EXPECT_EQ(QuantizeValue(-1.25f, 0.5f, 0, -128, 127), -2);
  EXPECT_EQ(QuantizeValue(2.6f, 1.f, 0, -128, 127), 3);
  // The zero point is added after rounding: 2.5 -> 2, + 10 = 12.
  EXPECT_EQ(QuantizeValue(2.5f, 1.f, 10, 0, 255), 12);
  // Saturation at both ends of the grid.
  EXPECT_EQ(QuantizeValue(1000.f, 1.f, 0, -128, 127), 127);
  EXPECT_EQ(QuantizeValue(-1000.f, 1.f, 0, -128, 127), -128);
  EXPECT_EQ(QuantizeValue(-200.f, 1.f, 128, 0, 255), 0);
  EXPECT_EQ(DequantizeValue(200, 0.5f, 128), 36.f);  // 0.5 * (200 - 128)
}

TEST(QuantizeTensorTest, RoundTripWithinHalfAStep) {
  QuantParams p = ChooseParams(-1.f, 2.f, QuantGrid{8, false}, false);
  std::vector<float> xs;
  for (int i = 0; i <= 300; ++i) xs.push_back(-1.f + 3.f * i / 300);
  Tensor x = Tensor::FromFloats({301}, xs);
  auto q = QuantizeTensor(x, p);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->dtype(), DType::kU8);
  auto y = DequantizeTensor(*q, p);
  ASSERT_TRUE(y.ok()) << y.status();
  for (int i = 0; i <= 300; ++i) EXPECT_LE(std::abs(y->data<float>()[i] - xs[i]), p.scale[0] / 2 + 1e-6f) << i;
  // Wrong number of scales for the axis is an error, not a crash.
  QuantParams bad = p;
  bad.axis = 0;
  bad.scale = {1.f, 1.f};
  bad.zero_point = {0, 0};
  EXPECT_FALSE(QuantizeTensor(x, bad).ok());
}

TEST(QuantizeWeightsTest, PerChannelAlongAxisOneOfAMatrix) {
  // W is [K=2, N=3]; channels are columns. Symmetric s8, scale = amax(column) / 127:
  //   column 0 {1, -0.25}: 1/127    -> q {127, -31.75 -> -32}
  //   column 1 {-1, 4}:    4/127    -> q {-31.75 -> -32, 127}
  //   column 2 {0.5, -0.125}: 0.5/127 -> q {127, -32}
  Tensor w = Tensor::FromFloats({2, 3}, {1.f, -1.f, 0.5f, -0.25f, 4.f, -0.125f});
  WeightSpec narrow;
  narrow.narrow_range = true;  // TFLite-style amax / 127
  auto qw = QuantizeWeights(w, /*axis=*/1, narrow, ScaleConstraint::kFloat, "node \"fc\"");
  ASSERT_TRUE(qw.ok()) << qw.status();
  EXPECT_EQ(qw->params.axis, 1);
  EXPECT_EQ(qw->params.dtype, DType::kS8);
  ASSERT_EQ(qw->params.scale.size(), 3u);
  EXPECT_FLOAT_EQ(qw->params.scale[0], 1.f / 127);
  EXPECT_FLOAT_EQ(qw->params.scale[1], 4.f / 127);
  EXPECT_FLOAT_EQ(qw->params.scale[2], 0.5f / 127);
  EXPECT_EQ(qw->params.zero_point, std::vector<int32_t>({0, 0, 0}));
  EXPECT_EQ(qw->q.shape(), Shape({2, 3}));
  EXPECT_EQ(Values<int8_t>(qw->q), std::vector<int8_t>({127, -32, 127, -32, 127, -32}));
  // The default is PyTorch's full-range symmetric scale amax / 127.5: +amax lands on 127.5,
  // rounds to 128 and saturates to 127; -0.25 / (1 / 127.5) = -31.875 -> -32.
  auto full = QuantizeWeights(w, /*axis=*/1, WeightSpec{}, ScaleConstraint::kFloat, "node \"fc\"");
  ASSERT_TRUE(full.ok());
  EXPECT_FLOAT_EQ(full->params.scale[0], 1.f / 127.5f);
  EXPECT_EQ(Values<int8_t>(full->q)[0], 127);
  EXPECT_EQ(Values<int8_t>(full->q)[3], -32);

  // Per tensor: one scale 4/127; column 0's 1.0 becomes 31.75 -> 32.
  WeightSpec per_tensor = narrow;
  per_tensor.per_channel = false;
  qw = QuantizeWeights(w, 1, per_tensor, ScaleConstraint::kFloat, "fc");
  ASSERT_TRUE(qw.ok());
  EXPECT_EQ(qw->params.axis, -1);
  ASSERT_EQ(qw->params.scale.size(), 1u);
  EXPECT_FLOAT_EQ(qw->params.scale[0], 4.f / 127);
  EXPECT_EQ(Values<int8_t>(qw->q)[0], 32);

  // Axis 0 of a conv weight {OC=2, IC=1, 1, 1}: each output channel its own scale.
  Tensor cw = Tensor::FromFloats({2, 1, 1, 1}, {0.5f, -0.25f});
  qw = QuantizeWeights(cw, 0, narrow, ScaleConstraint::kFloat, "conv");
  ASSERT_TRUE(qw.ok());
  EXPECT_FLOAT_EQ(qw->params.scale[0], 0.5f / 127);
  EXPECT_FLOAT_EQ(qw->params.scale[1], 0.25f / 127);
  EXPECT_EQ(Values<int8_t>(qw->q), std::vector<int8_t>({127, -127}));
}

TEST(QuantizeWeightsTest, FourBitWeightsStayOnTheirGrid) {
  // 4-bit symmetric: scale amax / 7, q in [-8, 7]: {0.7, -0.35, 0.1} -> scale 0.1, q {7, -3.5 -> -4, 1}.
  Tensor w = Tensor::FromFloats({3}, {0.7f, -0.35f, 0.1f});
  WeightSpec spec;
  spec.bits = 4;
  spec.per_channel = false;
  spec.narrow_range = true;
  auto qw = QuantizeWeights(w, 0, spec, ScaleConstraint::kFloat, "w");
  ASSERT_TRUE(qw.ok());
  EXPECT_EQ(qw->params.qmin, -8);
  EXPECT_EQ(qw->params.qmax, 7);
  EXPECT_FLOAT_EQ(qw->params.scale[0], 0.1f);
  const std::vector<int8_t> q = Values<int8_t>(qw->q);
  EXPECT_EQ(q[0], 7);
  EXPECT_EQ(q[2], 1);
  EXPECT_TRUE(q[1] == -4 || q[1] == -3) << int(q[1]);  // -0.35/0.1 sits at a tie in float
}

TEST(QuantizeWeightsTest, ErrorsNameTheTensor) {
  Tensor w = Tensor::FromFloats({2}, {1.f, std::numeric_limits<float>::quiet_NaN()});
  auto qw = QuantizeWeights(w, 0, WeightSpec{}, ScaleConstraint::kFloat, "node \"conv1\" weights \"W\"");
  ExpectError(qw.status(), absl::StatusCode::kInvalidArgument, {"conv1", "\"W\"", "element 1", "nan"});
  w = Tensor::FromFloats({2}, {1.f, std::numeric_limits<float>::infinity()});
  EXPECT_FALSE(QuantizeWeights(w, 0, WeightSpec{}, ScaleConstraint::kFloat, "w").ok());
  WeightSpec nine;
  nine.bits = 9;
  qw = QuantizeWeights(Tensor::FromFloats({2}, {1.f, 2.f}), 0, nine, ScaleConstraint::kFloat, "node \"fc\"");
  ExpectError(qw.status(), absl::StatusCode::kInvalidArgument, {"fc", "bits", "9"});
  WeightSpec one;
  one.bits = 1;
  EXPECT_FALSE(QuantizeWeights(Tensor::FromFloats({2}, {1.f, 2.f}), 0, one, ScaleConstraint::kFloat, "w").ok());
}

double SquaredError(const Tensor& w, const QuantizedWeights& qw) {
  auto y = DequantizeTensor(qw.q, qw.params);
  EXPECT_TRUE(y.ok());
  double e = 0;
  for (int64_t i = 0; i < w.num_elements(); ++i) {
    const double d = y->data<float>()[i] - w.data<float>()[i];
    e += d * d;
  }
  return e;
}

TEST(QuantizeWeightsTest, MseNeverWorseThanMinMax) {
  // The MSE search starts from the min/max parameters and only accepts improvements.
  // With heavy-tailed weights at 4 bits, clipping the outliers must win strictly.
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.f, 0.1f);
  for (int bits : {2, 4, 8}) {
    std::vector<float> v(8 * 1024);
    for (float& x : v) x = normal(rng);
    for (int c = 0; c < 8; ++c) v[c * 1024] = 1.5f;  // one outlier per channel (15 sigma)
    Tensor w = Tensor::FromFloats({8, 1024}, v);
    WeightSpec minmax, mse;
    minmax.bits = mse.bits = bits;
    mse.method = WeightMethod::kMse;
    auto a = QuantizeWeights(w, 0, minmax, ScaleConstraint::kFloat, "w");
    auto b = QuantizeWeights(w, 0, mse, ScaleConstraint::kFloat, "w");
    ASSERT_TRUE(a.ok() && b.ok());
    const double ea = SquaredError(w, *a), eb = SquaredError(w, *b);
    EXPECT_LE(eb, ea) << bits << " bits";
    if (bits == 4) {
      // min/max: step 1.5/7 = 0.21 rounds most of the bulk (sigma 0.1) to 0, about
      // 1024 * 0.01 * 0.6 per channel; clipping near 0.45 costs (1.5 - 0.45)^2 = 1.1 for
      // the outlier plus 1024 * 0.064^2 / 12 = 0.35 for the bulk.
      EXPECT_LT(eb, 0.5 * ea);
      EXPECT_LT(b->params.scale[0], a->params.scale[0]);  // a clipped range
    }
  }
}

TEST(NearestDyadicTest, MantissaRangeAndRelativeError) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> exponent(-30, 10);
  for (int bits : {4, 8, 15, 16, 31}) {
    for (int t = 0; t < 2000; ++t) {
      const double x = std::exp2(exponent(rng));
      int64_t m = 0;
      int k = 0;
      const double d = NearestDyadic(x, bits, &m, &k);
      ASSERT_GE(m, int64_t{1} << (bits - 1)) << x;
      ASSERT_LT(m, int64_t{1} << bits) << x;
      EXPECT_EQ(d, std::ldexp(static_cast<double>(m), -k));
      // m = round(f 2^b) with f in [0.5, 1): |error| <= 0.5 / 2^(b-1) = 2^-b, relative.
      EXPECT_LE(std::abs(d - x) / x, std::exp2(-bits)) << x << " " << bits;
    }
  }
}

TEST(NearestDyadicTest, PowersOfTwoAreExactAndCarryIsHandled) {
  int64_t m = 0;
  int k = 0;
  // 0.25 = 2^15 / 2^17 with a 16-bit multiplier.
  EXPECT_EQ(NearestDyadic(0.25, 16, &m, &k), 0.25);
  EXPECT_EQ(m, 32768);
  EXPECT_EQ(k, 17);
  for (int e = -20; e <= 5; ++e) EXPECT_EQ(NearestDyadic(std::exp2(e), 8), std::exp2(e));
  // Just below 1 with 8 bits: f * 256 = 255.99 rounds to 256, which carries: m = 128, k = 7.
  EXPECT_EQ(NearestDyadic(1.0 - std::exp2(-20), 8, &m, &k), 1.0);
  EXPECT_EQ(m, 128);
  EXPECT_EQ(k, 7);
  // 0.3 with 8 bits: 0.3 = 0.6 * 2^-1, m = round(0.6 * 256) = round(153.6) = 154, k = 9.
  EXPECT_DOUBLE_EQ(NearestDyadic(0.3, 8, &m, &k), 154.0 / 512);
  EXPECT_EQ(m, 154);
  EXPECT_EQ(k, 9);
}

TEST(SqnrTest, HandComputed) {
  // Signal 3^2 + 4^2 = 25, noise 0.5^2 = 0.25: 10 log10(100) = 20 dB.
  const std::vector<float> ref = {3.f, 4.f}, test = {3.f, 4.5f};
  EXPECT_NEAR(Sqnr(ref, test), 20.0, 1e-9);
  // Signal 1, noise 1 + 9 = 10: 10 log10(0.1) = -10 dB.
  EXPECT_NEAR(Sqnr(std::vector<float>{1.f, 0.f}, std::vector<float>{0.f, 3.f}), -10.0, 1e-9);
  EXPECT_EQ(Sqnr(ref, ref), std::numeric_limits<double>::infinity());
  EXPECT_EQ(Sqnr(std::vector<float>{0.f}, std::vector<float>{1.f}), -std::numeric_limits<double>::infinity());
}

}  // namespace
}  // namespace qbench::quant
