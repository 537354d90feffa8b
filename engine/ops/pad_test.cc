#include <gtest/gtest.h>

#include "engine/ops/pad.h"
#include "engine/ops/tensor_test_util.h"

namespace qbench {
namespace {

using testing::ExpectError;
using testing::Floats;
using testing::InferOnly;
using testing::MakeNode;
using testing::MakeTensor;
using testing::RunRef;
using testing::Values;

Node PadNode(int inputs, const std::string& mode) {
  Attributes a;
  a.Set("mode", mode);
  return MakeNode("Pad", inputs, a);
}

// [[1, 2, 3]]
Tensor Row() { return Tensor::FromFloats({1, 3}, {1, 2, 3}); }

TEST(PadTest, ModesOnOneRow) {
  // pads [0, 2, 0, 1]: axis 1 gets 2 before and 1 after.
  const Tensor pads = Tensor::FromInt64s({4}, {0, 2, 0, 1});
  struct Case {
    const char* mode;
    std::vector<float> want;
  } cases[] = {
      {"constant", {0, 0, 1, 2, 3, 0}},
      {"reflect", {3, 2, 1, 2, 3, 2}},  // mirror without repeating the edge element
      {"edge", {1, 1, 1, 2, 3, 3}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.mode);
    auto y = RunRef(PadNode(2, c.mode), {Row(), pads});
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_EQ((*y)[0].shape(), Shape({1, 6}));
    EXPECT_EQ(Floats((*y)[0]), c.want);
  }
}

TEST(PadTest, ConstantValueFromInputOrAttribute) {
  // Opset 11+: value as input 2; pads on both axes of a 2x2.
  const Tensor x = Tensor::FromFloats({2, 2}, {1, 2, 3, 4});
  auto y = RunRef(MakeNode("Pad", 3), {x, Tensor::FromInt64s({4}, {1, 0, 0, 1}), Tensor::Scalar(9.f)});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({3, 3}));
  EXPECT_EQ(Floats((*y)[0]), std::vector<float>({9, 9, 9, 1, 2, 9, 3, 4, 9}));
  // Opsets 2-10: pads and value as attributes.
  Attributes a;
  a.Set("pads", std::vector<int64_t>{0, 1, 0, 0});
  a.Set("value", -1.5f);
  y = RunRef(MakeNode("Pad", 1, a), {x});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Floats((*y)[0]), std::vector<float>({-1.5f, 1, 2, -1.5f, 3, 4}));
}

TEST(PadTest, NegativePadsCropAndIntegerData) {
  // int32 data: crop one element in front, edge-pad two at the back.
  const Tensor x = MakeTensor<int32_t>(DType::kS32, {4}, {10, 20, 30, 40});
  auto y = RunRef(PadNode(2, "edge"), {x, Tensor::FromInt64s({2}, {-1, 2})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Values<int32_t>((*y)[0]), std::vector<int32_t>({20, 30, 40, 40, 40}));
  // The float "value" attribute is converted to the data's type.
  Attributes a;
  a.Set("pads", std::vector<int64_t>{1, -2});
  a.Set("value", 7.f);
  y = RunRef(MakeNode("Pad", 1, a), {x});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Values<int32_t>((*y)[0]), std::vector<int32_t>({7, 10, 20}));
}

TEST(PadTest, InferKeepsDynamicDims) {
  const Tensor pads = Tensor::FromInt64s({8}, {0, 0, 1, 2, 0, 0, 3, 4});
  auto out = InferOnly(MakeNode("Pad", 2), {{DType::kF32, {kDynamicDim, 3, 5, 5}}, {DType::kS64, {8}, &pads}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape, Shape({kDynamicDim, 3, 9, 11}));
  // Not-yet-constant pads: retry later.
  ExpectError(InferOnly(MakeNode("Pad", 2), {{DType::kF32, {1, 3}}, {DType::kS64, {4}}}).status(),
              absl::StatusCode::kFailedPrecondition, {"Pad_test", "pads"});
}

TEST(PadTest, ErrorsNameTheProblem) {
  ExpectError(RunRef(PadNode(2, "reflect"), {Row(), Tensor::FromInt64s({4}, {0, 3, 0, 0})}).status(),
              absl::StatusCode::kInvalidArgument, {"Pad_test", "reflect", "[0,3,0,0]", "dim 1"});
  ExpectError(RunRef(PadNode(2, "wrap"), {Row(), Tensor::FromInt64s({4}, {0, 1, 0, 0})}).status(),
              absl::StatusCode::kUnimplemented, {"Pad_test", "mode", "wrap"});
  ExpectError(RunRef(MakeNode("Pad", 2), {Row(), Tensor::FromInt64s({2}, {1, 1})}).status(),
              absl::StatusCode::kInvalidArgument, {"Pad_test", "[1,1]", "needs 4"});
  ExpectError(RunRef(MakeNode("Pad", 2), {Row(), Tensor::FromInt64s({4}, {0, -2, 0, -2})}).status(),
              absl::StatusCode::kInvalidArgument, {"Pad_test", "crop more than dim 1"});
  ExpectError(RunRef(MakeNode("Pad", 3), {Row(), Tensor::FromInt64s({4}, {0, 1, 0, 0}), Tensor::FromInt64s({}, {1})})
                  .status(),
              absl::StatusCode::kInvalidArgument, {"Pad_test", "constant_value", "f32"});
  ExpectError(RunRef(MakeNode("Pad", 1), {Row()}).status(), absl::StatusCode::kInvalidArgument,
              {"Pad_test", "pads", "required"});
}

}  // namespace
}  // namespace qbench
