#include "engine/quant/bias.h"

#include <gtest/gtest.h>

namespace qbench::quant {
namespace {

// Conv weights {OC=2, IC=2, 1, 2} (two taps): W - W_q per element, input means {1, -2}.
//   c0: dW = {0.1, 0.1 | 0, -0.2} -> shift = -(0.2 * 1 + (-0.2) * (-2)) = -0.6
//   c1: dW = {0, 0 | 0.05, 0.05}  -> shift = -(0.1 * (-2))            = +0.2
TEST(BiasCorrectionTest, ConvUsesEachInputChannelsMeanForAllTaps) {
  Tensor w = Tensor::FromFloats({2, 2, 1, 2}, {1, 1, 1, 1, 1, 1, 1, 1});
  Tensor wq = Tensor::FromFloats({2, 2, 1, 2}, {1.1f, 1.1f, 1, 0.8f, 1, 1, 1.05f, 1.05f});
  const std::vector<double> shift = BiasCorrection(w, wq, {1.0, -2.0}, false, false, 1);
  ASSERT_EQ(shift.size(), 2u);
  EXPECT_NEAR(shift[0], -0.6, 1e-6);
  EXPECT_NEAR(shift[1], 0.2, 1e-6);
}

// Depthwise (group 2, {OC=2, 1, 1, 1}): output c reads input channel c only.
TEST(BiasCorrectionTest, DepthwiseReadsItsOwnChannel) {
  Tensor w = Tensor::FromFloats({2, 1, 1, 1}, {1, 1});
  Tensor wq = Tensor::FromFloats({2, 1, 1, 1}, {1.5f, 0.5f});
  const std::vector<double> shift = BiasCorrection(w, wq, {2.0, 4.0}, false, false, 2);
  EXPECT_NEAR(shift[0], -1.0, 1e-6);  // -(0.5 * 2)
  EXPECT_NEAR(shift[1], 2.0, 1e-6);   // -(-0.5 * 4)
}

// Gemm B {K=2, N=1} and the same weights stored transposed {N=1, K=2}.
TEST(BiasCorrectionTest, GemmBothLayouts) {
  Tensor b = Tensor::FromFloats({2, 1}, {1, 1});
  Tensor bq = Tensor::FromFloats({2, 1}, {1.25f, 0.75f});
  EXPECT_NEAR(BiasCorrection(b, bq, {4.0, 2.0}, true, false, 1)[0], -(0.25 * 4 - 0.25 * 2), 1e-6);
  Tensor bt = Tensor::FromFloats({1, 2}, {1, 1});
  Tensor bqt = Tensor::FromFloats({1, 2}, {1.25f, 0.75f});
  EXPECT_NEAR(BiasCorrection(bt, bqt, {4.0, 2.0}, true, true, 1)[0], -0.5, 1e-6);
}

// Bias on the int32 grid of s_x * s_w[c]: 0.26 at step 0.1 -> 0.3; -0.05 at step 0.1 -> -0.0
// (a tie rounds to even, 0); overflow is an error naming the tensor.
TEST(RoundBiasTest, SnapsToTheAccumulatorGrid) {
  Tensor bias = Tensor::FromFloats({2}, {0.26f, -0.05f});
  QuantParams w;
  w.scale = {0.2f, 0.2f};
  w.zero_point = {0, 0};
  w.axis = 0;
  ASSERT_TRUE(RoundBiasToInt32(&bias, 0.5f, w, "b").ok());
  EXPECT_NEAR(bias.data<float>()[0], 0.3f, 1e-6);
  EXPECT_NEAR(bias.data<float>()[1], 0.0f, 1e-6);
  Tensor huge = Tensor::FromFloats({1}, {1e30f});
  QuantParams one = w;
  one.scale = {1e-6f};
  auto s = RoundBiasToInt32(&huge, 1e-6f, one, "node \"fc\" bias");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("node \"fc\" bias"), std::string::npos);
}

}  // namespace
}  // namespace qbench::quant
