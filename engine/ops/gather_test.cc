#include <gtest/gtest.h>

#include "engine/ops/gather.h"
#include "engine/ops/tensor_test_util.h"

namespace qbench {
namespace {

using testing::ExpectError;
using testing::Floats;
using testing::InferOnly;
using testing::Int64s;
using testing::MakeNode;
using testing::MakeTensor;
using testing::RunRef;

Node GatherNode(int64_t axis) {
  Attributes a;
  a.Set("axis", axis);
  return MakeNode("Gather", 2, a);
}

// [3,3]: x[i][j] = 10 i + j.
Tensor X() { return Tensor::FromFloats({3, 3}, {0, 1, 2, 10, 11, 12, 20, 21, 22}); }

TEST(GatherTest, RowsAndColumns) {
  // axis 0: rows 2 and 0.
  auto y = RunRef(GatherNode(0), {X(), Tensor::FromInt64s({2}, {2, 0})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({2, 3}));
  EXPECT_EQ(Floats((*y)[0]), std::vector<float>({20, 21, 22, 0, 1, 2}));
  // axis 1 (as -1) with [1,2] int32 indices and a negative index: out [3,1,2], columns 0 and 2.
  y = RunRef(GatherNode(-1), {X(), MakeTensor<int32_t>(DType::kS32, {1, 2}, {0, -1})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({3, 1, 2}));
  EXPECT_EQ(Floats((*y)[0]), std::vector<float>({0, 2, 10, 12, 20, 22}));
}

TEST(GatherTest, ScalarIndexDropsTheAxis) {
  // The shape-subgraph pattern: Shape(x)[0] -> the batch size as an int64 scalar.
  auto y = RunRef(GatherNode(0), {Tensor::FromInt64s({4}, {8, 3, 224, 224}), Tensor::FromInt64s({}, {0})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_TRUE((*y)[0].shape().empty());
  EXPECT_EQ(Int64s((*y)[0]), std::vector<int64_t>({8}));
  y = RunRef(GatherNode(1), {X(), Tensor::FromInt64s({}, {1})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({3}));
  EXPECT_EQ(Floats((*y)[0]), std::vector<float>({1, 11, 21}));
}

TEST(GatherTest, InferAndErrors) {
  auto out = InferOnly(GatherNode(1), {{DType::kF32, {kDynamicDim, 5, 4}}, {DType::kS64, {2, 3}}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape, Shape({kDynamicDim, 2, 3, 4}));
  // Constant indices are checked at inference, others by the kernel.
  const Tensor bad = Tensor::FromInt64s({2}, {1, -4});
  ExpectError(InferOnly(GatherNode(0), {{DType::kF32, {3, 3}}, {DType::kS64, {2}, &bad}}).status(),
              absl::StatusCode::kInvalidArgument, {"Gather_test", "index -4", "[-3, 2]"});
  ExpectError(RunRef(GatherNode(0), {X(), Tensor::FromInt64s({1}, {3})}).status(), absl::StatusCode::kInvalidArgument,
              {"Gather_test", "index 3", "[-3, 2]"});
  ExpectError(RunRef(GatherNode(0), {X(), Tensor::FromFloats({1}, {0})}).status(), absl::StatusCode::kInvalidArgument,
              {"Gather_test", "indices", "int32 or int64"});
  ExpectError(RunRef(GatherNode(2), {X(), Tensor::FromInt64s({1}, {0})}).status(), absl::StatusCode::kInvalidArgument,
              {"Gather_test", "axis 2 out of range"});
}

}  // namespace
}  // namespace qbench
