#include <limits>

#include <gtest/gtest.h>

#include "engine/ops/binary.h"
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
using testing::Values;

TEST(BinaryReferenceTest, FloatOpsBroadcastARowAcrossRows) {
  // A [2,3] = {{1,2,3},{4,5,6}}, B [3] = {2,4,8}: B is repeated for each row of A.
  const Tensor a = Tensor::FromFloats({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor b = Tensor::FromFloats({3}, {2, 4, 8});
  struct Case {
    const char* op;
    std::vector<float> want;
  } cases[] = {
      {"Add", {3, 6, 11, 6, 9, 14}},
      {"Sub", {-1, -2, -5, 2, 1, -2}},
      {"Mul", {2, 8, 24, 8, 20, 48}},
      {"Div", {0.5f, 0.5f, 0.375f, 2, 1.25f, 0.75f}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.op);
    auto y = RunRef(MakeNode(c.op, 2), {a, b});
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_EQ((*y)[0].shape(), Shape({2, 3}));
    EXPECT_EQ(Floats((*y)[0]), c.want);
  }
}

TEST(BinaryReferenceTest, BothInputsBroadcast) {
  // [2,1] - [1,3] -> [2,3]: out[i][j] = a[i] - b[j].
  auto y = RunRef(MakeNode("Sub", 2), {Tensor::FromFloats({2, 1}, {10, 20}), Tensor::FromFloats({1, 3}, {1, 2, 3})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({2, 3}));
  EXPECT_EQ(Floats((*y)[0]), std::vector<float>({9, 8, 7, 19, 18, 17}));
}

TEST(BinaryReferenceTest, ScalarOperandAndOrderMatters) {
  // A rank-0 tensor is a scalar: 12 / [1,2,3,4] and [1,2,3,4] / 12 differ.
  auto y = RunRef(MakeNode("Div", 2), {Tensor::Scalar(12.f), Tensor::FromFloats({4}, {1, 2, 3, 4})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Floats((*y)[0]), std::vector<float>({12, 6, 4, 3}));
  y = RunRef(MakeNode("Div", 2), {Tensor::FromFloats({4}, {3, 6, 9, 12}), Tensor::Scalar(12.f)});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Floats((*y)[0]), std::vector<float>({0.25f, 0.5f, 0.75f, 1}));
  // Two scalars give a scalar.
  y = RunRef(MakeNode("Mul", 2), {Tensor::Scalar(3.f), Tensor::Scalar(-2.f)});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_TRUE((*y)[0].shape().empty());
  EXPECT_EQ(Floats((*y)[0]), std::vector<float>({-6}));
}

TEST(BinaryReferenceTest, FloatDivisionByZeroIsIeee) {
  auto y = RunRef(MakeNode("Div", 2), {Tensor::FromFloats({2}, {1, -1}), Tensor::FromFloats({2}, {0, 0})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Floats((*y)[0]), std::vector<float>({std::numeric_limits<float>::infinity(),
                                                 -std::numeric_limits<float>::infinity()}));
}

TEST(BinaryReferenceTest, Int64ShapeArithmetic) {
  // The folded shape subgraph of a Flatten written as Reshape: [N, C*H*W] from Shape.
  const Tensor dims = Tensor::FromInt64s({3}, {3, 4, 5});
  auto y = RunRef(MakeNode("Mul", 2), {dims, Tensor::FromInt64s({}, {2})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].dtype(), DType::kS64);
  EXPECT_EQ(Int64s((*y)[0]), std::vector<int64_t>({6, 8, 10}));
  y = RunRef(MakeNode("Add", 2), {dims, Tensor::FromInt64s({3}, {-1, 0, 1})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Int64s((*y)[0]), std::vector<int64_t>({2, 4, 6}));
  // Values beyond float's 24-bit mantissa stay exact.
  y = RunRef(MakeNode("Sub", 2), {Tensor::FromInt64s({1}, {(int64_t{1} << 40) + 1}), Tensor::FromInt64s({1}, {1})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Int64s((*y)[0]), std::vector<int64_t>({int64_t{1} << 40}));
}

TEST(BinaryReferenceTest, IntegerDivisionTruncatesTowardZero) {
  // C++ / ONNX Runtime semantics: -7 / 2 = -3 (numpy's // would give -4).
  auto y = RunRef(MakeNode("Div", 2),
                  {Tensor::FromInt64s({4}, {7, -7, 7, -7}), Tensor::FromInt64s({4}, {2, 2, -2, -2})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Int64s((*y)[0]), std::vector<int64_t>({3, -3, -3, 3}));
  // INT64_MIN / -1 wraps instead of trapping.
  const int64_t min = std::numeric_limits<int64_t>::min();
  y = RunRef(MakeNode("Div", 2), {Tensor::FromInt64s({1}, {min}), Tensor::FromInt64s({1}, {-1})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Int64s((*y)[0]), std::vector<int64_t>({min}));
}

TEST(BinaryReferenceTest, IntegerDivisionByZeroIsAnError) {
  auto y = RunRef(MakeNode("Div", 2), {Tensor::FromInt64s({2}, {4, 5}), Tensor::FromInt64s({2}, {2, 0})});
  ExpectError(y.status(), absl::StatusCode::kInvalidArgument, {"Div_test", "5 by 0", "division by zero"});
}

TEST(BinaryReferenceTest, NarrowIntegersWrap) {
  // uint8 arithmetic is modulo 256 (as numpy and ONNX Runtime): 250 + 10 = 4, 3 - 5 = 254.
  auto y = RunRef(MakeNode("Add", 2), {MakeTensor<uint8_t>(DType::kU8, {2}, {250, 3}),
                                       MakeTensor<uint8_t>(DType::kU8, {2}, {10, 5})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Values<uint8_t>((*y)[0]), std::vector<uint8_t>({4, 8}));
  y = RunRef(MakeNode("Sub", 2),
             {MakeTensor<uint8_t>(DType::kU8, {1}, {3}), MakeTensor<uint8_t>(DType::kU8, {1}, {5})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Values<uint8_t>((*y)[0]), std::vector<uint8_t>({254}));
  // int32 division, broadcast: [2,2] / [2].
  y = RunRef(MakeNode("Div", 2), {MakeTensor<int32_t>(DType::kS32, {2, 2}, {9, -9, 10, 11}),
                                  MakeTensor<int32_t>(DType::kS32, {2}, {2, 4})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Values<int32_t>((*y)[0]), std::vector<int32_t>({4, -2, 5, 2}));
}

TEST(BinaryInferTest, DynamicDimsPropagate) {
  auto out = InferOnly(MakeNode("Add", 2), {{DType::kF32, {kDynamicDim, 3, 1}}, {DType::kF32, {4}}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape, Shape({kDynamicDim, 3, 4}));
  EXPECT_EQ(out->dtype, DType::kF32);
  // The backend sees the same decision through ParseBinary.
  std::vector<TensorMeta> in = {{DType::kF32, {2, 1}}, {DType::kF32, {kDynamicDim}}};
  auto p = ParseBinary(MakeNode("Mul", 2), in);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->def->op_type, "Mul");
  EXPECT_EQ(p->out, Shape({2, kDynamicDim}));
}

TEST(BinaryInferTest, ErrorsNameTheProblem) {
  const Node n = MakeNode("Add", 2);
  ExpectError(InferOnly(n, {{DType::kF32, {2, 3}}, {DType::kF32, {4}}}).status(), absl::StatusCode::kInvalidArgument,
              {"Add_test", "[2,3]", "[4]", "cannot be broadcast"});
  ExpectError(InferOnly(n, {{DType::kF32, {2}}, {DType::kS64, {2}}}).status(), absl::StatusCode::kInvalidArgument,
              {"Add_test", "different types", "f32", "s64"});
  ExpectError(InferOnly(n, {{DType::kBool, {2}}, {DType::kBool, {2}}}).status(), absl::StatusCode::kUnimplemented,
              {"Add_test", "bool"});
}

}  // namespace
}  // namespace qbench
