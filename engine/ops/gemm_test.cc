#include <gtest/gtest.h>

#include "engine/ops/gemm.h"
#include "engine/ops/op_test_util.h"

namespace qbench {
namespace {

using testing::ExpectNear;
using testing::MakeNode;
using testing::RunRef;

// A = [1 2 3; 4 5 6], B = [1 0; 0 1; 1 1]  =>  A x B = [4 5; 10 11].
const std::vector<float> kA = {1, 2, 3, 4, 5, 6};
const std::vector<float> kB = {1, 0, 0, 1, 1, 1};

bool Mentions(const absl::Status& s, const std::string& what) {
  return std::string(s.message()).find(what) != std::string::npos;
}

TEST(GemmReferenceTest, RowBiasBroadcastsOverRows) {
  auto y = RunRef(MakeNode("Gemm", 3), {Tensor::FromFloats({2, 3}, kA), Tensor::FromFloats({3, 2}, kB),
                                        Tensor::FromFloats({2}, {10, 20})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({2, 2}));
  ExpectNear((*y)[0], {14, 25, 20, 31});
}

TEST(GemmReferenceTest, TransposesAlphaBetaAndScalarBias) {
  Attributes a;
  a.Set("transA", int64_t{1});
  a.Set("transB", int64_t{1});
  a.Set("alpha", 0.5f);
  a.Set("beta", 2.f);
  // A stored as A^T [3, 2] and B as B^T [2, 3]: 0.5 * [4 5; 10 11] + 2 * 1.
  auto y = RunRef(MakeNode("Gemm", 3, a), {Tensor::FromFloats({3, 2}, {1, 4, 2, 5, 3, 6}),
                                           Tensor::FromFloats({2, 3}, {1, 0, 1, 0, 1, 1}), Tensor::Scalar(1.f)});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {4, 4.5f, 7, 7.5f});
}

TEST(GemmReferenceTest, ColumnAndMatrixBias) {
  auto y = RunRef(MakeNode("Gemm", 3), {Tensor::FromFloats({2, 3}, kA), Tensor::FromFloats({3, 2}, kB),
                                        Tensor::FromFloats({2, 1}, {1, -1})});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {5, 6, 9, 10});
  y = RunRef(MakeNode("Gemm", 3), {Tensor::FromFloats({2, 3}, kA), Tensor::FromFloats({3, 2}, kB),
                                   Tensor::FromFloats({2, 2}, {1, 2, 3, 4})});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {5, 7, 13, 15});
}

TEST(GemmReferenceTest, OmittedBias) {
  auto y = RunRef(MakeNode("Gemm", 2), {Tensor::FromFloats({2, 3}, kA), Tensor::FromFloats({3, 2}, kB)});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {4, 5, 10, 11});
  // An empty optional input (id -1) is the same as no input.
  Node n = MakeNode("Gemm", 3);
  n.inputs[2] = -1;
  y = RunRef(n, {Tensor::FromFloats({2, 3}, kA), Tensor::FromFloats({3, 2}, kB), Tensor()});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {4, 5, 10, 11});
}

TEST(GemmReferenceTest, BroadcastAttributeBeforeOpset7) {
  const std::vector<Tensor> in = {Tensor::FromFloats({2, 3}, kA), Tensor::FromFloats({3, 2}, kB),
                                  Tensor::FromFloats({2}, {10, 20})};
  Attributes a;
  a.Set("__opset", int64_t{6});
  // Opset 6 without broadcast = 1: C must be the full [M, N].
  auto y = RunRef(MakeNode("Gemm", 3, a), in);
  ASSERT_FALSE(y.ok());
  EXPECT_TRUE(Mentions(y.status(), "must be [2,2] when attribute \"broadcast\" is 0")) << y.status();
  a.Set("broadcast", int64_t{1});
  y = RunRef(MakeNode("Gemm", 3, a), in);
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {14, 25, 20, 31});
}

TEST(GemmReferenceTest, DynamicBatchInference) {
  std::vector<TensorMeta> in = {{DType::kF32, {kDynamicDim, 3}}, {DType::kF32, {3, 4}}, {DType::kF32, {4}}};
  std::vector<TensorMeta> out(1);
  Node n = MakeNode("Gemm", 3);
  ASSERT_TRUE(FindOp("Gemm")->infer(n, in, out).ok());
  EXPECT_EQ(out[0].shape, Shape({kDynamicDim, 4}));
  auto p = ParseGemm(n, in);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->k, 3);
  EXPECT_EQ(p->c_rows, 1);
  EXPECT_EQ(p->c_cols, 4);
}

TEST(GemmReferenceTest, ErrorsNameTheProblem) {
  auto y = RunRef(MakeNode("Gemm", 2), {Tensor::FromFloats({2, 3}, kA), Tensor::FromFloats({2, 3}, kA)});
  ASSERT_FALSE(y.ok());
  EXPECT_TRUE(Mentions(y.status(), "Gemm_test")) << y.status();
  EXPECT_TRUE(Mentions(y.status(), "inner dimensions")) << y.status();
  y = RunRef(MakeNode("Gemm", 3), {Tensor::FromFloats({2, 3}, kA), Tensor::FromFloats({3, 2}, kB),
                                   Tensor::FromFloats({3}, {1, 2, 3})});
  ASSERT_FALSE(y.ok());
  EXPECT_TRUE(Mentions(y.status(), "input C [3]")) << y.status();
  Attributes a;
  a.Set("transA", int64_t{2});
  y = RunRef(MakeNode("Gemm", 2, a), {Tensor::FromFloats({2, 3}, kA), Tensor::FromFloats({3, 2}, kB)});
  ASSERT_FALSE(y.ok());
  EXPECT_TRUE(Mentions(y.status(), "transA")) << y.status();
  y = RunRef(MakeNode("Gemm", 2), {Tensor::FromFloats({6}, kA), Tensor::FromFloats({3, 2}, kB)});
  ASSERT_FALSE(y.ok());
  EXPECT_TRUE(Mentions(y.status(), "input A must be 2-D")) << y.status();
}

TEST(MatMulReferenceTest, TwoD) {
  auto y = RunRef(MakeNode("MatMul", 2), {Tensor::FromFloats({2, 3}, kA), Tensor::FromFloats({3, 2}, kB)});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({2, 2}));
  ExpectNear((*y)[0], {4, 5, 10, 11});
}

TEST(MatMulReferenceTest, BatchedTimesShared) {
  // A[0] = I, A[1] = 2I; B = [1 2; 3 4] is shared by both batches.
  auto y = RunRef(MakeNode("MatMul", 2), {Tensor::FromFloats({2, 2, 2}, {1, 0, 0, 1, 2, 0, 0, 2}),
                                          Tensor::FromFloats({2, 2}, {1, 2, 3, 4})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({2, 2, 2}));
  ExpectNear((*y)[0], {1, 2, 3, 4, 2, 4, 6, 8});
}

TEST(MatMulReferenceTest, BatchDimsBroadcastBothWays) {
  // A: [2, 1, 1, 2] with A[i] = [i+1, 1]; B: [3, 2, 1] with B[j] = [j; 1].
  // Batch [2, 1] x [3] -> [2, 3]; y[i, j] = (i + 1) * j + 1.
  auto y = RunRef(MakeNode("MatMul", 2), {Tensor::FromFloats({2, 1, 1, 2}, {1, 1, 2, 1}),
                                          Tensor::FromFloats({3, 2, 1}, {0, 1, 1, 1, 2, 1})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({2, 3, 1, 1}));
  ExpectNear((*y)[0], {1, 2, 3, 1, 3, 5});
}

TEST(MatMulReferenceTest, OneDimensionalOperands) {
  // [3] x [3, 2] -> [2]
  auto y = RunRef(MakeNode("MatMul", 2), {Tensor::FromFloats({3}, {1, 2, 3}), Tensor::FromFloats({3, 2}, kB)});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({2}));
  ExpectNear((*y)[0], {4, 5});
  // [2, 3] x [3] -> [2]
  y = RunRef(MakeNode("MatMul", 2), {Tensor::FromFloats({2, 3}, kA), Tensor::FromFloats({3}, {1, 1, 1})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({2}));
  ExpectNear((*y)[0], {6, 15});
  // [3] x [3] -> scalar dot product
  y = RunRef(MakeNode("MatMul", 2), {Tensor::FromFloats({3}, {1, 2, 3}), Tensor::FromFloats({3}, {4, 5, 6})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({}));
  ExpectNear((*y)[0], {32});
  // [2] x [2, 2, 2] -> [2, 2]: column sums of each batch matrix
  y = RunRef(MakeNode("MatMul", 2), {Tensor::FromFloats({2}, {1, 1}),
                                     Tensor::FromFloats({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({2, 2}));
  ExpectNear((*y)[0], {4, 6, 12, 14});
}

TEST(MatMulReferenceTest, DynamicBatchInference) {
  std::vector<TensorMeta> in = {{DType::kF32, {kDynamicDim, 8, 16}}, {DType::kF32, {16, 4}}};
  std::vector<TensorMeta> out(1);
  ASSERT_TRUE(FindOp("MatMul")->infer(MakeNode("MatMul", 2), in, out).ok());
  EXPECT_EQ(out[0].shape, Shape({kDynamicDim, 8, 4}));
}

TEST(MatMulReferenceTest, ErrorsNameTheProblem) {
  auto y = RunRef(MakeNode("MatMul", 2), {Tensor::FromFloats({2, 3}, kA), Tensor::FromFloats({2, 3}, kA)});
  ASSERT_FALSE(y.ok());
  EXPECT_TRUE(Mentions(y.status(), "MatMul_test")) << y.status();
  EXPECT_TRUE(Mentions(y.status(), "K=3")) << y.status();
  y = RunRef(MakeNode("MatMul", 2), {Tensor::FromFloats({2, 1, 2}, {1, 2, 3, 4}),
                                     Tensor::FromFloats({3, 2, 2}, std::vector<float>(12, 1.f))});
  ASSERT_FALSE(y.ok());
  EXPECT_TRUE(Mentions(y.status(), "cannot be broadcast")) << y.status();
  y = RunRef(MakeNode("MatMul", 2), {Tensor::Scalar(1.f), Tensor::FromFloats({1}, {1})});
  ASSERT_FALSE(y.ok());
  EXPECT_TRUE(Mentions(y.status(), "rank >= 1")) << y.status();
}

}  // namespace
}  // namespace qbench
