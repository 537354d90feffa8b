#include <gtest/gtest.h>

#include "engine/ops/reshape.h"
#include "engine/ops/tensor_test_util.h"

namespace qbench {
namespace {

using testing::ExpectError;
using testing::Floats;
using testing::InferOnly;
using testing::Int64s;
using testing::MakeNode;
using testing::RunRef;

Tensor Iota(const Shape& shape) {
  std::vector<float> v(NumElements(shape));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  return Tensor::FromFloats(shape, v);
}

std::vector<float> IotaValues(int n) { return Floats(Iota({n})); }

TEST(ResolveReshapeTest, ZeroCopiesAndMinusOneInfers) {
  const Node n = MakeNode("Reshape", 2);
  struct Case {
    Shape in;
    std::vector<int64_t> target;
    Shape want;
  } cases[] = {
      {{2, 3, 4}, {4, 2, 3}, {4, 2, 3}},
      {{2, 3, 4}, {2, -1, 2}, {2, 6, 2}},         // 24 / (2*2)
      {{2, 3, 4}, {0, 0, 4, -1}, {2, 3, 4, 1}},   // 0 copies in[0], in[1]
      {{2, 3, 4}, {-1}, {24}},
      {{2, 3, 4}, {-1, 2, 3, 4}, {1, 2, 3, 4}},
      {{0, 3}, {0, -1}, {0, 3}},                  // the copied 0 cancels: -1 = 3
      {{kDynamicDim, 3, 4}, {0, -1}, {kDynamicDim, 12}},  // copied dynamic batch
      {{kDynamicDim, 3, 4}, {-1, 4}, {kDynamicDim, 4}},   // -1 absorbs the unknown
      {{kDynamicDim, 12}, {0, 3, 4}, {kDynamicDim, 3, 4}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(ShapeToString(c.in) + " -> " + ::testing::PrintToString(c.target));
    auto s = ResolveReshape(n, c.in, c.target, /*allowzero=*/false);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(*s, c.want);
  }
}

TEST(ResolveReshapeTest, AllowZeroKeepsLiteralZeros) {
  const Node n = MakeNode("Reshape", 2);
  auto s = ResolveReshape(n, {0, 3, 4}, {3, 4, 0}, /*allowzero=*/true);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*s, Shape({3, 4, 0}));
  // Without allowzero the trailing 0 would copy in[2] = 4: 48 elements from 0, an error.
  ExpectError(ResolveReshape(n, {0, 3, 4}, {3, 4, 0}, false).status(), absl::StatusCode::kInvalidArgument,
              {"Reshape_test", "cannot reshape", "[0,3,4]"});
  ExpectError(ResolveReshape(n, {0, 3}, {0, -1}, true).status(), absl::StatusCode::kInvalidArgument,
              {"Reshape_test", "both 0 and -1"});
}

TEST(ResolveReshapeTest, ErrorsNameTheProblem) {
  const Node n = MakeNode("Reshape", 2);
  ExpectError(ResolveReshape(n, {2, 3}, {-1, -1}, false).status(), absl::StatusCode::kInvalidArgument,
              {"Reshape_test", "[-1,-1]", "more than one -1"});
  ExpectError(ResolveReshape(n, {2, 3}, {5}, false).status(), absl::StatusCode::kInvalidArgument,
              {"[2,3] (6 elements)", "[5] (5)"});
  ExpectError(ResolveReshape(n, {2, 3}, {4, -1}, false).status(), absl::StatusCode::kInvalidArgument,
              {"-1 cannot be inferred"});
  ExpectError(ResolveReshape(n, {6}, {-2, 3}, false).status(), absl::StatusCode::kInvalidArgument,
              {"invalid dim -2"});
  ExpectError(ResolveReshape(n, {6}, {3, 0}, false).status(), absl::StatusCode::kInvalidArgument,
              {"0 (copy the input dim) at position 1", "rank 1"});
}

TEST(ReshapeReferenceTest, CopiesDataOfAnyType) {
  auto y = RunRef(MakeNode("Reshape", 2), {Iota({2, 3, 4}), Tensor::FromInt64s({3}, {4, 0, -1})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({4, 3, 2}));
  EXPECT_EQ(Floats((*y)[0]), IotaValues(24));
  // int64 data (a shape vector turned into a [1, 3] row), int32 target.
  Tensor target(DType::kS32, {2});
  target.data<int32_t>()[0] = 1;
  target.data<int32_t>()[1] = -1;
  y = RunRef(MakeNode("Reshape", 2), {Tensor::FromInt64s({3}, {7, 8, 9}), target});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({1, 3}));
  EXPECT_EQ(Int64s((*y)[0]), std::vector<int64_t>({7, 8, 9}));
}

TEST(ReshapeInferTest, ShapeMustBeAConstant) {
  const Node n = MakeNode("Reshape", 2);
  // At import the shape may come from a subgraph not folded yet: retry later.
  ExpectError(InferOnly(n, {{DType::kF32, {2, 3}}, {DType::kS64, {2}}}).status(),
              absl::StatusCode::kFailedPrecondition, {"Reshape_test", "shape", "not a constant"});
  const Tensor target = Tensor::FromInt64s({2}, {0, -1});
  auto out = InferOnly(n, {{DType::kF32, {kDynamicDim, 3, 4}}, {DType::kS64, {2}, &target}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape, Shape({kDynamicDim, 12}));
  Attributes a;
  a.Set("allowzero", int64_t{2});
  ExpectError(InferOnly(MakeNode("Reshape", 2, a), {{DType::kF32, {2, 3}}, {DType::kS64, {2}, &target}}).status(),
              absl::StatusCode::kInvalidArgument, {"Reshape_test", "allowzero", "2"});
}

TEST(FlattenTest, AxisSplitsTheDims) {
  struct Case {
    int64_t axis;
    Shape want;
  } cases[] = {{0, {1, 120}}, {1, {2, 60}}, {3, {24, 5}}, {4, {120, 1}}, {-1, {24, 5}}, {-4, {1, 120}}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.axis);
    Attributes a;
    a.Set("axis", c.axis);
    auto y = RunRef(MakeNode("Flatten", 1, a), {Iota({2, 3, 4, 5})});
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_EQ((*y)[0].shape(), c.want);
    EXPECT_EQ(Floats((*y)[0]), IotaValues(120));
  }
  // Default axis 1; a dynamic batch stays dynamic and the rest multiplies out.
  auto out = InferOnly(MakeNode("Flatten", 1), {{DType::kF32, {kDynamicDim, 3, 4, 5}}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape, Shape({kDynamicDim, 60}));
  Attributes bad;
  bad.Set("axis", int64_t{5});
  ExpectError(InferOnly(MakeNode("Flatten", 1, bad), {{DType::kF32, {2, 3, 4, 5}}}).status(),
              absl::StatusCode::kInvalidArgument, {"Flatten_test", "axis", "5", "[-4, 4]"});
}

TEST(SqueezeTest, AxesFromAttributeOrInput) {
  // Opset 13 form: axes as a second input (negative counts from the back).
  auto y = RunRef(MakeNode("Squeeze", 2), {Iota({1, 3, 1, 2}), Tensor::FromInt64s({1}, {-2})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({1, 3, 2}));
  EXPECT_EQ(Floats((*y)[0]), IotaValues(6));
  // Opset 1-12 form: the attribute.
  Attributes a;
  a.Set("axes", std::vector<int64_t>{0, 2});
  y = RunRef(MakeNode("Squeeze", 1, a), {Iota({1, 3, 1, 2})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({3, 2}));
  // No axes: every 1 goes, down to a scalar.
  y = RunRef(MakeNode("Squeeze", 1), {Tensor::FromFloats({1, 1}, {5})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_TRUE((*y)[0].shape().empty());
  EXPECT_EQ(Floats((*y)[0]), std::vector<float>({5}));
  // An empty axes input reads as no axes (ONNX Runtime does the same).
  y = RunRef(MakeNode("Squeeze", 2), {Iota({1, 3, 1}), Tensor(DType::kS64, {0})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({3}));
}

TEST(SqueezeTest, ErrorsNameTheProblem) {
  Attributes a;
  a.Set("axes", std::vector<int64_t>{1});
  ExpectError(RunRef(MakeNode("Squeeze", 1, a), {Iota({1, 3})}).status(), absl::StatusCode::kInvalidArgument,
              {"Squeeze_test", "axis 1 of size 3"});
  a.Set("axes", std::vector<int64_t>{0, -2});
  ExpectError(RunRef(MakeNode("Squeeze", 1, a), {Iota({1, 3})}).status(), absl::StatusCode::kInvalidArgument,
              {"Squeeze_test", "[0,-2]", "repeat"});
  ExpectError(RunRef(MakeNode("Squeeze", 2, a), {Iota({1, 3}), Tensor::FromInt64s({1}, {0})}).status(),
              absl::StatusCode::kInvalidArgument, {"Squeeze_test", "both as attribute and as input"});
  // Without axes and with a dynamic dim, which dims are 1 is not known until plan time.
  ExpectError(InferOnly(MakeNode("Squeeze", 1), {{DType::kF32, {kDynamicDim, 1}}}).status(),
              absl::StatusCode::kFailedPrecondition, {"Squeeze_test", "dim 0"});
}

TEST(UnsqueezeTest, AxesIndexTheOutput) {
  // [3,4,5] with axes {5, 4, 2} (unsorted) -> [3,4,1,5,1,1].
  auto y = RunRef(MakeNode("Unsqueeze", 2), {Iota({3, 4, 5}), Tensor::FromInt64s({3}, {5, 4, 2})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({3, 4, 1, 5, 1, 1}));
  EXPECT_EQ(Floats((*y)[0]), IotaValues(60));
  Attributes a;
  a.Set("axes", std::vector<int64_t>{-1});  // output rank 4: -1 is the last
  y = RunRef(MakeNode("Unsqueeze", 1, a), {Iota({3, 4, 5})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({3, 4, 5, 1}));
  // A scalar becomes a 1-element vector (int64 data, as in shape subgraphs).
  y = RunRef(MakeNode("Unsqueeze", 2), {Tensor::FromInt64s({}, {42}), Tensor::FromInt64s({1}, {0})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({1}));
  EXPECT_EQ(Int64s((*y)[0]), std::vector<int64_t>({42}));
}

TEST(UnsqueezeTest, ErrorsNameTheProblem) {
  ExpectError(RunRef(MakeNode("Unsqueeze", 1), {Iota({3})}).status(), absl::StatusCode::kInvalidArgument,
              {"Unsqueeze_test", "axes", "required"});
  ExpectError(RunRef(MakeNode("Unsqueeze", 2), {Iota({3}), Tensor::FromInt64s({2}, {0, 0})}).status(),
              absl::StatusCode::kInvalidArgument, {"Unsqueeze_test", "[0,0]", "repeat"});
  ExpectError(RunRef(MakeNode("Unsqueeze", 2), {Iota({3}), Tensor::FromInt64s({1}, {2})}).status(),
              absl::StatusCode::kInvalidArgument, {"Unsqueeze_test", "axis 2 out of range for rank 2"});
}

}  // namespace
}  // namespace qbench
