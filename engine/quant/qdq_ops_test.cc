// The QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear reference ops
// (ops/quantize_linear.cc): per-axis parameters, the narrow n-bit grid attributes
// (__qmin, __qmax) and DynamicQuantizeLinear against ONNX's definition.
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "engine/ops/tensor_test_util.h"

namespace qbench {
namespace {

using testing::ExpectError;
using testing::MakeTensor;
using testing::Values;

Node QdqNode(const std::string& op, Attributes attrs = {}, int outputs = 1) {
  Node n = testing::MakeNode(op, op == "DynamicQuantizeLinear" ? 1 : 3, std::move(attrs));
  n.outputs.clear();
  for (int i = 0; i < outputs; ++i) n.outputs.push_back(10 + i);
  return n;
}

TEST(QdqOpsTest, PerAxisDequantizeLinear) {
  // x s8 [2, 3], per-column scale {0.5, 1, 2}, zero point {0, 1, -1}:
  //   row 0 {10, 10, 10} -> {5, 9, 22};  row 1 {-2, 3, 4} -> {-1, 2, 10}.
  Tensor x = MakeTensor<int8_t>(DType::kS8, {2, 3}, {10, 10, 10, -2, 3, 4});
  Tensor s = Tensor::FromFloats({3}, {0.5f, 1.f, 2.f});
  Tensor z = MakeTensor<int8_t>(DType::kS8, {3}, {0, 1, -1});
  Attributes a;
  a.Set("axis", int64_t{1});
  auto y = testing::RunRef(QdqNode("DequantizeLinear", a), {x, s, z});
  ASSERT_TRUE(y.ok()) << y.status();
  testing::ExpectNear((*y)[0], {5, 9, 22, -1, 2, 10});
  // ONNX's default axis is 1: the same without the attribute.
  y = testing::RunRef(QdqNode("DequantizeLinear"), {x, s, z});
  ASSERT_TRUE(y.ok()) << y.status();
  testing::ExpectNear((*y)[0], {5, 9, 22, -1, 2, 10});
}

// Per-axis parameters must have one scale per element of the input along `axis`: three
// scales on an axis of 2 would use the wrong ones, and two on an axis of 3 would read past
// the end of the scale vector (QdqParams in ops/quantize_linear.cc refuses both).
TEST(QdqOpsTest, PerAxisScaleCountMustMatchTheAxis) {
  Tensor x = MakeTensor<int8_t>(DType::kS8, {2, 3}, {10, 10, 10, -2, 3, 4});
  Attributes a;
  a.Set("axis", int64_t{0});
  EXPECT_FALSE(testing::RunRef(QdqNode("DequantizeLinear", a), {x, Tensor::FromFloats({3}, {0.5f, 1.f, 2.f}),
                                                               MakeTensor<int8_t>(DType::kS8, {3}, {0, 0, 0})})
                   .ok());
  a.Set("axis", int64_t{1});
  EXPECT_FALSE(testing::RunRef(QdqNode("DequantizeLinear", a),
                               {x, Tensor::FromFloats({2}, {0.5f, 1.f}), MakeTensor<int8_t>(DType::kS8, {2}, {0, 0})})
                   .ok());
}

TEST(QdqOpsTest, NarrowGridClampsInQuantizeLinear) {
  // Signed 4-bit in s8: scale 0.5, grid [-8, 7]. x/0.5 = {-20, -8, 2.5, 3.5, 7, 200}
  //   -> {-8, -8, 2 (tie to even), 4 (tie to even), 7, 7}.
  Attributes a;
  a.Set("__qmin", int64_t{-8});
  a.Set("__qmax", int64_t{7});
  Tensor x = Tensor::FromFloats({6}, {-10.f, -4.f, 1.25f, 1.75f, 3.5f, 100.f});
  Tensor s = Tensor::Scalar(0.5f);
  Tensor z = MakeTensor<int8_t>(DType::kS8, {}, {0});
  auto y = testing::RunRef(QdqNode("QuantizeLinear", a), {x, s, z});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Values<int8_t>((*y)[0]), std::vector<int8_t>({-8, -8, 2, 4, 7, 7}));
  // Without the grid attributes the full s8 range applies: -20 and 127.
  y = testing::RunRef(QdqNode("QuantizeLinear"), {x, s, z});
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(Values<int8_t>((*y)[0]), std::vector<int8_t>({-20, -8, 2, 4, 7, 127}));
  // Unsigned 4-bit [0, 15] with zero point 3, scale 1: {-5, 0, 20} -> {0, 3, 15}.
  a.Set("__qmin", int64_t{0});
  a.Set("__qmax", int64_t{15});
  y = testing::RunRef(QdqNode("QuantizeLinear", a), {Tensor::FromFloats({3}, {-5.f, 0.f, 20.f}), Tensor::Scalar(1.f),
                                                      MakeTensor<uint8_t>(DType::kU8, {}, {3})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Values<uint8_t>((*y)[0]), std::vector<uint8_t>({0, 3, 15}));
  // A grid that does not fit the storage type, or a zero point outside it, is an error.
  a.Set("__qmin", int64_t{-200});
  auto bad = testing::RunRef(QdqNode("QuantizeLinear", a), {x, s, z});
  ExpectError(bad.status(), absl::StatusCode::kInvalidArgument, {"QuantizeLinear_test", "does not fit"});
  a.Set("__qmin", int64_t{-8});
  a.Set("__qmax", int64_t{7});
  bad = testing::RunRef(QdqNode("QuantizeLinear", a), {x, s, MakeTensor<int8_t>(DType::kS8, {}, {9})});
  ExpectError(bad.status(), absl::StatusCode::kInvalidArgument, {"zero point 9"});
}

// ONNX DynamicQuantizeLinear, written out from the operator's definition:
//   scale = (max(0, max x) - min(0, min x)) / 255
//   zero_point = saturate(round(0 - min(0, min x) / scale))
//   y = saturate(round(x / scale) + zero_point), rounding half to even.
void ExpectOnnxDynamicQuantize(const std::vector<float>& xs) {
  float lo = 0.f, hi = 0.f;
  for (float x : xs) lo = std::min(lo, x), hi = std::max(hi, x);
  const float scale = (hi - lo) / 255.f;
  const float zp = std::clamp(std::nearbyint(0.f - lo / scale), 0.f, 255.f);
  auto out = testing::RunRef(QdqNode("DynamicQuantizeLinear", {}, 3),
                             {Tensor::FromFloats({static_cast<int64_t>(xs.size())}, xs)});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 3u);
  EXPECT_EQ((*out)[1].data<float>()[0], scale);
  EXPECT_EQ((*out)[2].data<uint8_t>()[0], static_cast<uint8_t>(zp));
  const std::vector<uint8_t> y = Values<uint8_t>((*out)[0]);
  for (size_t i = 0; i < xs.size(); ++i)
    EXPECT_EQ(y[i], static_cast<uint8_t>(std::clamp(std::nearbyint(xs[i] / scale) + zp, 0.f, 255.f))) << i;
}

TEST(QdqOpsTest, DynamicQuantizeLinearFollowsOnnx) {
  // x = {-1, 0, 2, 0.6}: scale 3/255, zero point 85; y = {0, 85, 255, 51 + 85 = 136}.
  auto out = testing::RunRef(QdqNode("DynamicQuantizeLinear", {}, 3), {Tensor::FromFloats({4}, {-1.f, 0.f, 2.f, 0.6f})});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FLOAT_EQ((*out)[1].data<float>()[0], 3.f / 255);
  EXPECT_EQ((*out)[2].data<uint8_t>()[0], 85);
  EXPECT_EQ(Values<uint8_t>((*out)[0]), std::vector<uint8_t>({0, 85, 255, 136}));
  // All positive: the range still starts at 0, so the zero point is 0 and scale max/255.
  ExpectOnnxDynamicQuantize({1.f, 2.f, 0.5f});
  // All negative: zero point 255.
  ExpectOnnxDynamicQuantize({-1.f, -3.f});
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-3.f, 7.f);
  std::vector<float> xs(1000);
  for (float& x : xs) x = u(rng);
  ExpectOnnxDynamicQuantize(xs);
  // NaN input is an error naming the node.
  auto bad = testing::RunRef(QdqNode("DynamicQuantizeLinear", {}, 3),
                             {Tensor::FromFloats({2}, {1.f, std::numeric_limits<float>::quiet_NaN()})});
  ExpectError(bad.status(), absl::StatusCode::kInvalidArgument, {"DynamicQuantizeLinear_test", "element 1"});
}

}  // namespace
}  // namespace qbench
