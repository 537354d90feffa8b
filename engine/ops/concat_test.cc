#include <gtest/gtest.h>

#include "engine/ops/concat.h"
#include "engine/ops/tensor_test_util.h"

namespace qbench {
namespace {

using testing::ExpectError;
using testing::Floats;
using testing::InferOnly;
using testing::Int64s;
using testing::MakeNode;
using testing::RunRef;

Node ConcatNode(int inputs, int64_t axis) {
  Attributes a;
  a.Set("axis", axis);
  return MakeNode("Concat", inputs, a);
}

TEST(ConcatTest, AlongEachAxis) {
  const Tensor a = Tensor::FromFloats({2, 2}, {1, 2, 3, 4});
  const Tensor b = Tensor::FromFloats({2, 1}, {5, 6});
  const Tensor c = Tensor::FromFloats({1, 2}, {7, 8});
  // axis 1 (and -1): each row of a, then the same row of b.
  for (int64_t axis : {1, -1}) {
    auto y = RunRef(ConcatNode(2, axis), {a, b});
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_EQ((*y)[0].shape(), Shape({2, 3}));
    EXPECT_EQ(Floats((*y)[0]), std::vector<float>({1, 2, 5, 3, 4, 6}));
  }
  // axis 0 with three inputs: rows stacked.
  auto y = RunRef(ConcatNode(3, 0), {a, c, c});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({4, 2}));
  EXPECT_EQ(Floats((*y)[0]), std::vector<float>({1, 2, 3, 4, 7, 8, 7, 8}));
}

TEST(ConcatTest, Int64ShapeVectorsAndEmptyInputs) {
  // The end of a shape subgraph: [N] ++ [] ++ [-1] -> a Reshape target. (The empty one is
  // built directly: Tensor::FromInt64s passes a null pointer to memcpy for an empty vector.)
  auto y = RunRef(ConcatNode(3, 0), {Tensor::FromInt64s({1}, {8}), Tensor(DType::kS64, {0}),
                                     Tensor::FromInt64s({1}, {-1})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Int64s((*y)[0]), std::vector<int64_t>({8, -1}));
}

TEST(ConcatTest, MiddleAxisOf3D) {
  // [2,1,2] ++ [2,2,2] along 1: per outer index, one block of a then two rows of b.
  const Tensor a = Tensor::FromFloats({2, 1, 2}, {1, 2, 3, 4});
  const Tensor b = Tensor::FromFloats({2, 2, 2}, {10, 20, 30, 40, 50, 60, 70, 80});
  auto y = RunRef(ConcatNode(2, -2), {a, b});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({2, 3, 2}));
  EXPECT_EQ(Floats((*y)[0]), std::vector<float>({1, 2, 10, 20, 30, 40, 3, 4, 50, 60, 70, 80}));
}

TEST(ConcatTest, InferWithDynamicDims) {
  auto out = InferOnly(ConcatNode(2, 1), {{DType::kF32, {kDynamicDim, 3, 4}}, {DType::kF32, {2, 5, 4}}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape, Shape({2, 8, 4}));
  out = InferOnly(ConcatNode(2, 0), {{DType::kF32, {kDynamicDim, 3}}, {DType::kF32, {2, 3}}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape, Shape({kDynamicDim, 3}));
}

TEST(ConcatTest, ErrorsNameTheProblem) {
  ExpectError(InferOnly(ConcatNode(2, 1), {{DType::kF32, {2, 3}}, {DType::kF32, {3, 3}}}).status(),
              absl::StatusCode::kInvalidArgument, {"Concat_test", "input 1", "[3,3]", "dim 0"});
  ExpectError(InferOnly(ConcatNode(2, 0), {{DType::kF32, {2, 3}}, {DType::kF32, {3}}}).status(),
              absl::StatusCode::kInvalidArgument, {"Concat_test", "ranks differ"});
  ExpectError(InferOnly(ConcatNode(2, 0), {{DType::kF32, {2}}, {DType::kS64, {3}}}).status(),
              absl::StatusCode::kInvalidArgument, {"Concat_test", "s64"});
  ExpectError(InferOnly(ConcatNode(1, 2), {{DType::kF32, {2, 3}}}).status(), absl::StatusCode::kInvalidArgument,
              {"Concat_test", "axis 2 out of range"});
  ExpectError(InferOnly(MakeNode("Concat", 1), {{DType::kF32, {2, 3}}}).status(), absl::StatusCode::kInvalidArgument,
              {"Concat_test", "\"axis\" is required"});
}

}  // namespace
}  // namespace qbench
