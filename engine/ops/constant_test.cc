#include <gtest/gtest.h>

#include "engine/ops/constant.h"
#include "engine/ops/tensor_test_util.h"

namespace qbench {
namespace {

using testing::ExpectError;
using testing::Floats;
using testing::InferOnly;
using testing::Int64s;
using testing::MakeNode;
using testing::RunRef;

Node ConstantNode(const std::string& name, AttrValue v) {
  Attributes a;
  a.Set(name, std::move(v));
  Node n = MakeNode("Constant", 0, a);
  return n;
}

TEST(ConstantTest, EmitsTheAttribute) {
  auto y = RunRef(ConstantNode("value", Tensor::FromFloats({2, 2}, {1, 2, 3, 4})), {});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({2, 2}));
  EXPECT_EQ(Floats((*y)[0]), std::vector<float>({1, 2, 3, 4}));

  y = RunRef(ConstantNode("value_float", 2.5f), {});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_TRUE((*y)[0].shape().empty());
  EXPECT_EQ(Floats((*y)[0]), std::vector<float>({2.5f}));

  y = RunRef(ConstantNode("value_floats", std::vector<float>{1.5f, -2}), {});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({2}));
  EXPECT_EQ(Floats((*y)[0]), std::vector<float>({1.5f, -2}));

  y = RunRef(ConstantNode("value_int", int64_t{-3}), {});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_TRUE((*y)[0].shape().empty());
  EXPECT_EQ(Int64s((*y)[0]), std::vector<int64_t>({-3}));

  y = RunRef(ConstantNode("value_ints", std::vector<int64_t>{0, -1}), {});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(Int64s((*y)[0]), std::vector<int64_t>({0, -1}));

  y = RunRef(ConstantNode("value_ints", std::vector<int64_t>{}), {});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({0}));
}

TEST(ConstantTest, ErrorsNameTheProblem) {
  ExpectError(RunRef(MakeNode("Constant", 0), {}).status(), absl::StatusCode::kInvalidArgument,
              {"Constant_test", "needs one of"});
  Node two = ConstantNode("value_int", int64_t{1});
  two.attrs.Set("value_float", 1.f);
  ExpectError(RunRef(two, {}).status(), absl::StatusCode::kInvalidArgument,
              {"Constant_test", "value_float", "value_int", "exactly one"});
  ExpectError(RunRef(ConstantNode("value_string", std::string("hi")), {}).status(), absl::StatusCode::kUnimplemented,
              {"Constant_test", "value_string"});
  ExpectError(RunRef(ConstantNode("value", int64_t{1}), {}).status(), absl::StatusCode::kInvalidArgument,
              {"Constant_test", "\"value\" must be a tensor"});
}

Node ShapeNode(std::optional<int64_t> start, std::optional<int64_t> end) {
  Attributes a;
  if (start) a.Set("start", *start);
  if (end) a.Set("end", *end);
  return MakeNode("Shape", 1, a);
}

TEST(ShapeTest, SlicesOfTheDims) {
  const Tensor x(DType::kF32, {3, 4, 5});
  struct Case {
    std::optional<int64_t> start, end;
    std::vector<int64_t> want;
  } cases[] = {
      {{}, {}, {3, 4, 5}},  {1, {}, {4, 5}},   {{}, 1, {3}},       {1, 2, {4}},       {-1, {}, {5}},
      {{}, -1, {3, 4}},     {1, -1, {4}},      {-10, {}, {3, 4, 5}}, {{}, 10, {3, 4, 5}}, {2, 1, {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << "start " << c.start.value_or(0) << " end " << c.end.value_or(99));
    auto y = RunRef(ShapeNode(c.start, c.end), {x});
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_EQ((*y)[0].shape(), Shape({static_cast<int64_t>(c.want.size())}));
    EXPECT_EQ(Int64s((*y)[0]), c.want);
  }
  // int64 input, rank 0: an empty shape vector.
  auto y = RunRef(ShapeNode({}, {}), {Tensor::FromInt64s({}, {1})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({0}));
}

TEST(ShapeTest, InferNeedsOnlyTheRank) {
  auto out = InferOnly(ShapeNode({}, {}), {{DType::kF32, {kDynamicDim, 3, 224, 224}}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->dtype, DType::kS64);
  EXPECT_EQ(out->shape, Shape({4}));
}

// The subgraph exporters emit for x.view(x.size(0), -1)-like code, written out longhand:
// Shape -> Gather -> Mul -> Unsqueeze -> Concat -> Reshape, all through reference kernels
// on int64 tensors, as constant folding runs it.
TEST(ShapeSubgraphTest, FoldsToAReshapeTarget) {
  const Tensor x = Tensor::FromFloats({2, 3, 4}, std::vector<float>(24, 1.f));
  auto run = [](const std::string& op, std::vector<Tensor> in, Attributes a = {}) {
    auto y = RunRef(MakeNode(op, static_cast<int>(in.size()), std::move(a)), in);
    EXPECT_TRUE(y.ok()) << y.status();
    return y.ok() ? (*y)[0] : Tensor();
  };
  const Tensor dims = run("Shape", {x});
  const Tensor n = run("Gather", {dims, Tensor::FromInt64s({}, {0})});
  const Tensor c = run("Gather", {dims, Tensor::FromInt64s({}, {1})});
  const Tensor hw = run("Gather", {dims, Tensor::FromInt64s({}, {-1})});
  const Tensor chw = run("Mul", {c, hw});
  Attributes axes;
  axes.Set("axes", std::vector<int64_t>{0});
  Attributes axis;
  axis.Set("axis", int64_t{0});
  const Tensor target = run("Concat", {run("Unsqueeze", {n}, axes), run("Unsqueeze", {chw}, axes)}, axis);
  EXPECT_EQ(Int64s(target), std::vector<int64_t>({2, 12}));
  const Tensor y = run("Reshape", {x, target});
  EXPECT_EQ(y.shape(), Shape({2, 12}));
}

}  // namespace
}  // namespace qbench
