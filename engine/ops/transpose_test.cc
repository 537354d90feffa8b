#include <gtest/gtest.h>

#include "engine/ops/tensor_test_util.h"
#include "engine/ops/transpose.h"

namespace qbench {
namespace {

using testing::ExpectError;
using testing::Floats;
using testing::InferOnly;
using testing::Int64s;
using testing::MakeNode;
using testing::RunRef;

// x[i][j][k] = 100 i + 10 j + k, shape [2,3,2]: every value spells its coordinates.
Tensor Coded() {
  std::vector<float> v;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 2; ++k) v.push_back(100 * i + 10 * j + k);
  return Tensor::FromFloats({2, 3, 2}, v);
}

TEST(TransposeTest, DefaultReversesDims) {
  // y[k][j][i] = x[i][j][k].
  auto y = RunRef(MakeNode("Transpose", 1), {Coded()});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({2, 3, 2}));
  EXPECT_EQ(Floats((*y)[0]), std::vector<float>({0, 100, 10, 110, 20, 120, 1, 101, 11, 111, 21, 121}));
}

TEST(TransposeTest, PermPicksInputDims) {
  // perm {1, 2, 0}: y[j][k][i] = x[i][j][k], shape [3,2,2].
  Attributes a;
  a.Set("perm", std::vector<int64_t>{1, 2, 0});
  auto y = RunRef(MakeNode("Transpose", 1, a), {Coded()});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({3, 2, 2}));
  EXPECT_EQ(Floats((*y)[0]), std::vector<float>({0, 100, 1, 101, 10, 110, 11, 111, 20, 120, 21, 121}));
  // int64 2-D.
  a.Set("perm", std::vector<int64_t>{1, 0});
  y = RunRef(MakeNode("Transpose", 1, a), {Tensor::FromInt64s({2, 3}, {1, 2, 3, 4, 5, 6})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Int64s((*y)[0]), std::vector<int64_t>({1, 4, 2, 5, 3, 6}));
  // A scalar transposes to itself.
  y = RunRef(MakeNode("Transpose", 1), {Tensor::Scalar(7.f)});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Floats((*y)[0]), std::vector<float>({7}));
}

TEST(TransposeTest, InferAndErrors) {
  Attributes a;
  a.Set("perm", std::vector<int64_t>{0, 2, 3, 1});  // NCHW -> NHWC
  auto out = InferOnly(MakeNode("Transpose", 1, a), {{DType::kF32, {kDynamicDim, 3, 8, 9}}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape, Shape({kDynamicDim, 8, 9, 3}));
  a.Set("perm", std::vector<int64_t>{0, 0, 1});
  ExpectError(InferOnly(MakeNode("Transpose", 1, a), {{DType::kF32, {2, 3, 4}}}).status(),
              absl::StatusCode::kInvalidArgument, {"Transpose_test", "perm", "[0,0,1]", "not a permutation"});
  a.Set("perm", std::vector<int64_t>{1, 0});
  ExpectError(InferOnly(MakeNode("Transpose", 1, a), {{DType::kF32, {2, 3, 4}}}).status(),
              absl::StatusCode::kInvalidArgument, {"Transpose_test", "perm", "rank 3"});
}

}  // namespace
}  // namespace qbench
