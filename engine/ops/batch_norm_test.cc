#include <cmath>

#include <gtest/gtest.h>

#include "engine/ops/batch_norm.h"
#include "engine/ops/op_test_util.h"

namespace qbench {
namespace {

using testing::ExpectNear;
using testing::MakeNode;
using testing::RunRef;

bool Mentions(const absl::Status& s, const std::string& what) {
  return std::string(s.message()).find(what) != std::string::npos;
}

// Two channels; with epsilon 0.25 the variances 3.75 and 0.75 give std 2 and 1.
const Tensor kScale = Tensor::FromFloats({2}, {2, 1});
const Tensor kBias = Tensor::FromFloats({2}, {0.5f, -1});
const Tensor kMean = Tensor::FromFloats({2}, {2, 10});
const Tensor kVar = Tensor::FromFloats({2}, {3.75f, 0.75f});

Attributes Eps() {
  Attributes a;
  a.Set("epsilon", 0.25f);
  return a;
}

TEST(BatchNormReferenceTest, PerChannelAffine) {
  // ch0: 2 * (x - 2) / 2 + 0.5;  ch1: 1 * (x - 10) / 1 - 1.
  auto y = RunRef(MakeNode("BatchNormalization", 5, Eps()),
                  {Tensor::FromFloats({1, 2, 2}, {1, 3, 10, 20}), kScale, kBias, kMean, kVar});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({1, 2, 2}));
  ExpectNear((*y)[0], {-0.5f, 1.5f, -1, 9});
}

TEST(BatchNormReferenceTest, RankTwoAndRankFourInputs) {
  // [N=2, C=2]: each row is one sample.
  auto y = RunRef(MakeNode("BatchNormalization", 5, Eps()),
                  {Tensor::FromFloats({2, 2}, {1, 10, 3, 20}), kScale, kBias, kMean, kVar});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {-0.5f, -1, 1.5f, 9});
  // [N=2, C=2, 1, 2]: the second sample is the first plus 2 (ch0: +2, ch1: +2).
  y = RunRef(MakeNode("BatchNormalization", 5, Eps()),
             {Tensor::FromFloats({2, 2, 1, 2}, {1, 3, 10, 20, 3, 5, 12, 22}), kScale, kBias, kMean, kVar});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({2, 2, 1, 2}));
  ExpectNear((*y)[0], {-0.5f, 1.5f, -1, 9, 1.5f, 3.5f, 1, 11});
}

TEST(BatchNormReferenceTest, DefaultEpsilonAndIgnoredMomentum) {
  Attributes a;
  a.Set("momentum", 0.5f);
  // var = 1, default epsilon 1e-5: y = (x - 1) / sqrt(1 + 1e-5).
  auto y = RunRef(MakeNode("BatchNormalization", 5, a),
                  {Tensor::FromFloats({1, 1, 2}, {3, -1}), Tensor::FromFloats({1}, {1}), Tensor::FromFloats({1}, {0}),
                   Tensor::FromFloats({1}, {1}), Tensor::FromFloats({1}, {1})});
  ASSERT_TRUE(y.ok()) << y.status();
  const float inv = static_cast<float>(1.0 / std::sqrt(1.0 + 1e-5));
  ExpectNear((*y)[0], {2 * inv, -2 * inv}, 1e-7f);
}

TEST(BatchNormReferenceTest, FoldFactorsMatchTheFormula) {
  auto f = BatchNormFoldFactors(MakeNode("BatchNormalization", 5, Eps()), kScale, kBias, kMean, kVar);
  ASSERT_TRUE(f.ok()) << f.status();
  // multiplier = scale / std = [1, 1]; shift = B - mean * multiplier = [-1.5, -11].
  EXPECT_EQ(f->multiplier, std::vector<float>({1, 1}));
  EXPECT_EQ(f->shift, std::vector<float>({-1.5f, -11}));
  auto bad = BatchNormFoldFactors(MakeNode("BatchNormalization", 5, Eps()), kScale, kBias,
                                  Tensor::FromFloats({3}, {0, 0, 0}), kVar);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Mentions(bad.status(), "input mean")) << bad.status();
}

TEST(BatchNormReferenceTest, TrainingModeAndSpatialZeroAreUnimplemented) {
  const std::vector<Tensor> in = {Tensor::FromFloats({1, 2, 2}, {1, 3, 10, 20}), kScale, kBias, kMean, kVar};
  Attributes a;
  a.Set("training_mode", int64_t{1});
  auto y = RunRef(MakeNode("BatchNormalization", 5, a), in);
  ASSERT_FALSE(y.ok());
  EXPECT_EQ(y.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_TRUE(Mentions(y.status(), "BatchNormalization_test")) << y.status();
  EXPECT_TRUE(Mentions(y.status(), "training_mode")) << y.status();
  Attributes b;
  b.Set("spatial", int64_t{0});
  y = RunRef(MakeNode("BatchNormalization", 5, b), in);
  ASSERT_FALSE(y.ok());
  EXPECT_EQ(y.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_TRUE(Mentions(y.status(), "spatial")) << y.status();
  Node n = MakeNode("BatchNormalization", 5);
  n.outputs = {5, 6, 7};  // running mean and var requested: training only
  y = RunRef(n, in);
  ASSERT_FALSE(y.ok());
  EXPECT_EQ(y.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_TRUE(Mentions(y.status(), "output 1")) << y.status();
  n.outputs = {5, -1, -1};  // omitted optional outputs are fine
  y = RunRef(n, in);
  ASSERT_TRUE(y.ok()) << y.status();
}

TEST(BatchNormReferenceTest, Opset6NeedsIsTest) {
  const std::vector<Tensor> in = {Tensor::FromFloats({1, 2, 2}, {1, 3, 10, 20}), kScale, kBias, kMean, kVar};
  Attributes a = Eps();
  a.Set("__opset", int64_t{6});
  auto y = RunRef(MakeNode("BatchNormalization", 5, a), in);  // is_test defaults to 0: training
  ASSERT_FALSE(y.ok());
  EXPECT_EQ(y.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_TRUE(Mentions(y.status(), "is_test")) << y.status();
  a.Set("is_test", int64_t{1});
  y = RunRef(MakeNode("BatchNormalization", 5, a), in);
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {-0.5f, 1.5f, -1, 9});
}

TEST(BatchNormReferenceTest, StatisticShapeMustMatchChannels) {
  auto y = RunRef(MakeNode("BatchNormalization", 5),
                  {Tensor::FromFloats({1, 2, 2}, {1, 3, 10, 20}), Tensor::FromFloats({3}, {1, 1, 1}), kBias, kMean,
                   kVar});
  ASSERT_FALSE(y.ok());
  EXPECT_TRUE(Mentions(y.status(), "input scale has shape [3], expected [2]")) << y.status();
}

}  // namespace
}  // namespace qbench
