#include <gtest/gtest.h>

#include "engine/ops/identity.h"
#include "engine/ops/tensor_test_util.h"

namespace qbench {
namespace {

using testing::ExpectError;
using testing::Floats;
using testing::Int64s;
using testing::MakeNode;
using testing::MakeTensor;
using testing::RunRef;

TEST(IdentityTest, CopiesAnyType) {
  auto y = RunRef(MakeNode("Identity", 1), {Tensor::FromFloats({2, 2}, {1, -2, 3.5f, 0})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({2, 2}));
  EXPECT_EQ(Floats((*y)[0]), std::vector<float>({1, -2, 3.5f, 0}));
  y = RunRef(MakeNode("Identity", 1), {Tensor::FromInt64s({}, {-9})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_TRUE((*y)[0].shape().empty());
  EXPECT_EQ(Int64s((*y)[0]), std::vector<int64_t>({-9}));
}

TEST(DropoutTest, InferenceIsIdentityWhateverTheRatio) {
  Attributes a;
  a.Set("ratio", 0.2f);  // opset 7-11 form; ignored at inference
  const Tensor x = Tensor::FromFloats({3}, {1, 2, 3});
  auto y = RunRef(MakeNode("Dropout", 1, a), {x});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Floats((*y)[0]), std::vector<float>({1, 2, 3}));
  // Opset 12+ form: ratio and training_mode (false) as inputs.
  const Tensor off = MakeTensor<uint8_t>(DType::kBool, {}, {0});
  y = RunRef(MakeNode("Dropout", 3), {x, Tensor::Scalar(0.5f), off});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Floats((*y)[0]), std::vector<float>({1, 2, 3}));
}

TEST(DropoutTest, TrainingIsUnimplementedAndTheMaskIsAllTrue) {
  const Tensor x = Tensor::FromFloats({3}, {1, 2, 3});
  const Tensor on = MakeTensor<uint8_t>(DType::kBool, {}, {1});
  ExpectError(RunRef(MakeNode("Dropout", 3), {x, Tensor::Scalar(0.5f), on}).status(),
              absl::StatusCode::kUnimplemented, {"Dropout_test", "training_mode"});
  Node with_mask = MakeNode("Dropout", 1);
  with_mask.outputs = {1, 2};
  auto y = RunRef(with_mask, {x});
  ASSERT_TRUE(y.ok()) << y.status();
  ASSERT_EQ(y->size(), 2u);
  EXPECT_EQ((*y)[1].dtype(), DType::kBool);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(static_cast<const uint8_t*>((*y)[1].raw())[i], 1);
  // An omitted mask output (-1) is fine.
  with_mask.outputs = {1, -1};
  std::vector<TensorMeta> in = {{DType::kF32, {3}}};
  EXPECT_TRUE(CheckDropoutInference(with_mask, in).ok());
  // training_mode that is not a constant yet: decide later.
  in.push_back({DType::kF32, {}});
  in.push_back({DType::kBool, {}});
  ExpectError(CheckDropoutInference(with_mask, in), absl::StatusCode::kFailedPrecondition,
              {"Dropout_test", "training_mode", "not a constant"});
}

}  // namespace
}  // namespace qbench
