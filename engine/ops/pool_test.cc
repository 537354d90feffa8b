#include <gtest/gtest.h>

#include "engine/ops/op_test_util.h"
#include "engine/ops/pool.h"

namespace qbench {
namespace {

using testing::ExpectNear;
using testing::MakeNode;
using testing::RunRef;

bool Mentions(const absl::Status& s, const std::string& what) {
  return std::string(s.message()).find(what) != std::string::npos;
}

std::vector<float> Iota(int n, float start = 1) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = start + i;
  return v;
}

TEST(PoolReferenceTest, MaxPoolStride2D) {
  Attributes a;
  a.Set("kernel_shape", std::vector<int64_t>{2, 2});
  a.Set("strides", std::vector<int64_t>{2, 2});
  auto y = RunRef(MakeNode("MaxPool", 1, a), {Tensor::FromFloats({1, 1, 4, 4}, Iota(16))});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({1, 1, 2, 2}));
  ExpectNear((*y)[0], {6, 8, 14, 16});
}

TEST(PoolReferenceTest, MaxPoolPaddingNeverWins) {
  // All inputs negative: a padded zero must not be the max.
  Attributes a;
  a.Set("kernel_shape", std::vector<int64_t>{3, 3});
  a.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  auto y = RunRef(MakeNode("MaxPool", 1, a), {Tensor::FromFloats({1, 1, 3, 3}, Iota(9, -9))});
  // x = [-9 -8 -7; -6 -5 -4; -3 -2 -1]
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {-5, -4, -4, -2, -1, -1, -2, -1, -1});
}

TEST(PoolReferenceTest, MaxPoolDilationAndCeilMode1D) {
  Attributes a;
  a.Set("kernel_shape", std::vector<int64_t>{2});
  a.Set("dilations", std::vector<int64_t>{2});
  auto y = RunRef(MakeNode("MaxPool", 1, a), {Tensor::FromFloats({1, 1, 5}, {1, 5, 2, 4, 3})});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {2, 5, 3});  // max(x0, x2), max(x1, x3), max(x2, x4)

  Attributes b;
  b.Set("kernel_shape", std::vector<int64_t>{2});
  b.Set("strides", std::vector<int64_t>{2});
  y = RunRef(MakeNode("MaxPool", 1, b), {Tensor::FromFloats({1, 1, 5}, Iota(5))});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {2, 4});  // floor: the last element is dropped
  b.Set("ceil_mode", int64_t{1});
  y = RunRef(MakeNode("MaxPool", 1, b), {Tensor::FromFloats({1, 1, 5}, Iota(5))});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {2, 4, 5});  // ceil: a partial last window
}

TEST(PoolReferenceTest, AveragePoolCountIncludePad) {
  Attributes a;
  a.Set("kernel_shape", std::vector<int64_t>{3});
  a.Set("pads", std::vector<int64_t>{1, 1});
  auto y = RunRef(MakeNode("AveragePool", 1, a), {Tensor::FromFloats({1, 1, 3}, {1, 2, 3})});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {1.5f, 2, 2.5f});  // pads excluded from the divisor
  a.Set("count_include_pad", int64_t{1});
  y = RunRef(MakeNode("AveragePool", 1, a), {Tensor::FromFloats({1, 1, 3}, {1, 2, 3})});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {1, 2, 5.f / 3});  // always divided by 3
}

TEST(PoolReferenceTest, AveragePoolCeilModePaddingIsNeverCounted) {
  // x = 1..6, k3 s2 pads [1, 1], ceil_mode: windows start at -1, 1, 3, 5; the last one
  // covers x5, the explicit pad at 6 and a ceil_mode pad at 7.
  Attributes a;
  a.Set("kernel_shape", std::vector<int64_t>{3});
  a.Set("strides", std::vector<int64_t>{2});
  a.Set("pads", std::vector<int64_t>{1, 1});
  a.Set("ceil_mode", int64_t{1});
  auto y = RunRef(MakeNode("AveragePool", 1, a), {Tensor::FromFloats({1, 1, 6}, Iota(6))});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({1, 1, 4}));
  ExpectNear((*y)[0], {1.5f, 3, 5, 6});
  a.Set("count_include_pad", int64_t{1});
  Node n = MakeNode("AveragePool", 1, a);
  y = RunRef(n, {Tensor::FromFloats({1, 1, 6}, Iota(6))});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {1, 3, 5, 3});  // last: (6 + explicit pad) / 2
  std::vector<TensorMeta> in = {{DType::kF32, {1, 1, 6}}};
  auto p = ParsePool(n, in);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->window.pads_end, std::vector<int64_t>({2}));
  EXPECT_EQ(p->counted_pads_end, std::vector<int64_t>({1}));
}

TEST(PoolReferenceTest, AveragePoolSameUpper2D) {
  // 5x5 of 1..25, k3 s2 SAME_UPPER: one pad on each side; pads are excluded.
  Attributes a;
  a.Set("kernel_shape", std::vector<int64_t>{3, 3});
  a.Set("strides", std::vector<int64_t>{2, 2});
  a.Set("auto_pad", std::string("SAME_UPPER"));
  auto y = RunRef(MakeNode("AveragePool", 1, a), {Tensor::FromFloats({1, 1, 5, 5}, Iota(25))});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({1, 1, 3, 3}));
  ExpectNear((*y)[0], {4, 5.5f, 7, 11.5f, 13, 14.5f, 19, 20.5f, 22});
}

TEST(PoolReferenceTest, ThreeDimensionalAndGlobal) {
  Attributes a;
  a.Set("kernel_shape", std::vector<int64_t>{2, 2, 2});
  auto y = RunRef(MakeNode("AveragePool", 1, a), {Tensor::FromFloats({1, 1, 2, 2, 2}, Iota(8))});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({1, 1, 1, 1, 1}));
  ExpectNear((*y)[0], {4.5f});
  y = RunRef(MakeNode("MaxPool", 1, a), {Tensor::FromFloats({1, 1, 2, 2, 2}, Iota(8))});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {8});
  // Two channels of 2x2: means 2.5 and 6.5.
  y = RunRef(MakeNode("GlobalAveragePool", 1), {Tensor::FromFloats({1, 2, 2, 2}, Iota(8))});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({1, 2, 1, 1}));
  ExpectNear((*y)[0], {2.5f, 6.5f});
}

TEST(PoolReferenceTest, DynamicBatchInference) {
  Attributes a;
  a.Set("kernel_shape", std::vector<int64_t>{3, 3});
  a.Set("strides", std::vector<int64_t>{2, 2});
  std::vector<TensorMeta> in = {{DType::kF32, {kDynamicDim, 8, 7, 7}}};
  std::vector<TensorMeta> out(1);
  ASSERT_TRUE(FindOp("MaxPool")->infer(MakeNode("MaxPool", 1, a), in, out).ok());
  EXPECT_EQ(out[0].shape, Shape({kDynamicDim, 8, 3, 3}));
  ASSERT_TRUE(FindOp("GlobalAveragePool")->infer(MakeNode("GlobalAveragePool", 1), in, out).ok());
  EXPECT_EQ(out[0].shape, Shape({kDynamicDim, 8, 1, 1}));
}

TEST(PoolReferenceTest, ErrorsNameTheProblem) {
  const std::vector<Tensor> x = {Tensor::FromFloats({1, 1, 4, 4}, Iota(16))};
  Attributes a;
  a.Set("kernel_shape", std::vector<int64_t>{2, 2});
  Node n = MakeNode("MaxPool", 1, a);
  n.outputs = {1, 2};  // Indices requested
  auto y = RunRef(n, x);
  ASSERT_FALSE(y.ok());
  EXPECT_EQ(y.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_TRUE(Mentions(y.status(), "MaxPool_test")) << y.status();
  EXPECT_TRUE(Mentions(y.status(), "Indices")) << y.status();

  y = RunRef(MakeNode("AveragePool", 1), x);
  ASSERT_FALSE(y.ok());
  EXPECT_TRUE(Mentions(y.status(), "kernel_shape")) << y.status();

  Attributes b;
  b.Set("kernel_shape", std::vector<int64_t>{2});
  y = RunRef(MakeNode("AveragePool", 1, b), x);
  ASSERT_FALSE(y.ok());
  EXPECT_TRUE(Mentions(y.status(), "2 spatial dims")) << y.status();

  a.Set("storage_order", int64_t{2});
  y = RunRef(MakeNode("MaxPool", 1, a), x);
  ASSERT_FALSE(y.ok());
  EXPECT_TRUE(Mentions(y.status(), "storage_order")) << y.status();

  y = RunRef(MakeNode("GlobalAveragePool", 1), {Tensor::FromFloats({2, 2}, Iota(4))});
  ASSERT_FALSE(y.ok());
  EXPECT_TRUE(Mentions(y.status(), "rank >= 3")) << y.status();
}

}  // namespace
}  // namespace qbench
