#include <cmath>

#include <gtest/gtest.h>

#include "engine/ops/op_test_util.h"
#include "engine/ops/softmax.h"

namespace qbench {
namespace {

using testing::ExpectNear;
using testing::MakeNode;
using testing::RunRef;

bool Mentions(const absl::Status& s, const std::string& what) {
  return std::string(s.message()).find(what) != std::string::npos;
}

// Inputs are logs so the expected probabilities are simple ratios: softmax(ln v) = v / sum(v).
float Ln(float v) { return std::log(v); }

Attributes SoftmaxAttrs(int64_t opset, std::optional<int64_t> axis = std::nullopt) {
  Attributes a;
  a.Set("__opset", opset);
  if (axis) a.Set("axis", *axis);
  return a;
}

TEST(SoftmaxReferenceTest, Opset13DefaultIsLastAxisAndStable) {
  // Row 1 holds huge values: without subtracting the max, exp would overflow to inf.
  auto y = RunRef(MakeNode("Softmax", 1, SoftmaxAttrs(13)),
                  {Tensor::FromFloats({2, 3}, {Ln(1), Ln(2), Ln(3), 1000, 1000, 1000})});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {1.f / 6, 2.f / 6, 3.f / 6, 1.f / 3, 1.f / 3, 1.f / 3});
  // No "__opset" attribute means opset 13 semantics.
  y = RunRef(MakeNode("Softmax", 1), {Tensor::FromFloats({1, 2}, {Ln(1), Ln(3)})});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {0.25f, 0.75f});
}

TEST(SoftmaxReferenceTest, Opset13SingleAxis) {
  // Axis 0 of [2, 2]: each column is normalized.
  auto y = RunRef(MakeNode("Softmax", 1, SoftmaxAttrs(13, 0)),
                  {Tensor::FromFloats({2, 2}, {Ln(1), Ln(3), Ln(3), Ln(1)})});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {0.25f, 0.75f, 0.75f, 0.25f});
  // Middle axis of [1, 2, 2] (negative form -2): again per column.
  y = RunRef(MakeNode("Softmax", 1, SoftmaxAttrs(13, -2)),
             {Tensor::FromFloats({1, 2, 2}, {Ln(1), Ln(2), Ln(4), Ln(2)})});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {0.2f, 0.5f, 0.8f, 0.5f});
}

TEST(SoftmaxReferenceTest, BeforeOpset13InputIsCoercedTo2D) {
  const Tensor x = Tensor::FromFloats({2, 1, 2}, {Ln(1), Ln(3), Ln(2), Ln(2)});
  // Opset 11, default axis 1: [2, 1*2] -> each sample's two values together.
  auto y = RunRef(MakeNode("Softmax", 1, SoftmaxAttrs(11)), {x});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({2, 1, 2}));
  ExpectNear((*y)[0], {0.25f, 0.75f, 0.5f, 0.5f});
  // Opset 13 axis 1 on the same input normalizes over a size-1 axis: all ones.
  y = RunRef(MakeNode("Softmax", 1, SoftmaxAttrs(13, 1)), {x});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {1, 1, 1, 1});
  // Opset 1, axis 0: one row holding everything.
  y = RunRef(MakeNode("Softmax", 1, SoftmaxAttrs(1, 0)),
             {Tensor::FromFloats({2, 2}, {Ln(1), Ln(2), Ln(3), Ln(4)})});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {0.1f, 0.2f, 0.3f, 0.4f});
}

TEST(SoftmaxReferenceTest, ParamsForBackends) {
  std::vector<TensorMeta> in = {{DType::kF32, {kDynamicDim, 3, 4, 5}}};
  auto p = ParseSoftmax(MakeNode("Softmax", 1, SoftmaxAttrs(13, 2)), in);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->axis, 2);
  EXPECT_EQ(p->outer, kDynamicDim);
  EXPECT_EQ(p->n, 4);
  EXPECT_EQ(p->inner, 5);
  p = ParseSoftmax(MakeNode("Softmax", 1, SoftmaxAttrs(9)), in);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->coerce_2d);
  EXPECT_EQ(p->n, 60);
  EXPECT_EQ(p->inner, 1);
}

TEST(SoftmaxReferenceTest, ErrorsNameTheProblem) {
  auto y = RunRef(MakeNode("Softmax", 1, SoftmaxAttrs(13, 2)), {Tensor::FromFloats({2, 2}, {1, 2, 3, 4})});
  ASSERT_FALSE(y.ok());
  EXPECT_TRUE(Mentions(y.status(), "Softmax_test")) << y.status();
  EXPECT_TRUE(Mentions(y.status(), "axis 2 out of range")) << y.status();
  y = RunRef(MakeNode("Softmax", 1), {Tensor::Scalar(1.f)});
  ASSERT_FALSE(y.ok());
  EXPECT_TRUE(Mentions(y.status(), "scalar")) << y.status();
}

}  // namespace
}  // namespace qbench
