#include <gtest/gtest.h>

#include "engine/ops/op_test_util.h"

namespace qbench {
namespace {

using testing::ExpectNear;
using testing::MakeNode;
using testing::RunRef;

TEST(ConvReferenceTest, ThreeByThreeWithPadding) {
  Attributes a;
  a.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Node n = MakeNode("Conv", 2, a);
  // 3x3 input 1..9, all-ones 3x3 kernel: each output is the sum of its zero-padded neighbourhood.
  Tensor x = Tensor::FromFloats({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor w = Tensor::FromFloats({1, 1, 3, 3}, std::vector<float>(9, 1.f));
  auto y = RunRef(n, {x, w});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), Shape({1, 1, 3, 3}));
  ExpectNear((*y)[0], {12, 21, 16, 27, 45, 33, 24, 39, 28});
}

TEST(ConvReferenceTest, StrideDilationBiasAndGroups) {
  Attributes a;
  a.Set("strides", std::vector<int64_t>{2, 2});
  a.Set("dilations", std::vector<int64_t>{2, 2});
  a.Set("group", int64_t{2});
  Node n = MakeNode("Conv", 3, a);
  // Two channels 5x5 (channel 1 = channel 0 + 100), depthwise 2x2 kernels dilated by 2.
  std::vector<float> xs(50);
  for (int i = 0; i < 25; ++i) xs[i] = i, xs[25 + i] = 100 + i;
  Tensor x = Tensor::FromFloats({1, 2, 5, 5}, xs);
  Tensor w = Tensor::FromFloats({2, 1, 2, 2}, {1, 0, 0, 1, 0, 1, 1, 0});
  Tensor b = Tensor::FromFloats({2}, {0.5f, -1.f});
  auto y = RunRef(n, {x, w, b});
  ASSERT_TRUE(y.ok()) << y.status();
  // Extent 3, stride 2 -> 2x2 outputs. Channel 0 taps (0,0)+(2,2); channel 1 taps (0,2)+(2,0).
  EXPECT_EQ((*y)[0].shape(), Shape({1, 2, 2, 2}));
  ExpectNear((*y)[0], {0 + 12 + 0.5f, 2 + 14 + 0.5f, 10 + 22 + 0.5f, 12 + 24 + 0.5f,
                       102 + 110 - 1, 104 + 112 - 1, 112 + 120 - 1, 114 + 122 - 1});
}

TEST(ConvReferenceTest, SameUpperAutoPad) {
  Attributes a;
  a.Set("auto_pad", std::string("SAME_UPPER"));
  a.Set("strides", std::vector<int64_t>{2, 2});
  Node n = MakeNode("Conv", 2, a);
  Tensor x = Tensor::FromFloats({1, 1, 4, 4}, std::vector<float>(16, 1.f));
  Tensor w = Tensor::FromFloats({1, 1, 3, 3}, std::vector<float>(9, 1.f));
  auto y = RunRef(n, {x, w});
  ASSERT_TRUE(y.ok()) << y.status();
  // out = ceil(4/2) = 2; total pad 1, all at the end: windows rows 0-2 and 2-4(pad).
  ExpectNear((*y)[0], {9, 6, 6, 4});
}

TEST(ConvReferenceTest, ErrorsNameTheProblem) {
  Node n = MakeNode("Conv", 2);
  Tensor x = Tensor::FromFloats({1, 3, 4, 4}, std::vector<float>(48, 0.f));
  Tensor w = Tensor::FromFloats({2, 2, 3, 3}, std::vector<float>(36, 0.f));
  auto y = RunRef(n, {x, w});
  ASSERT_FALSE(y.ok());
  EXPECT_NE(std::string(y.status().message()).find("Conv_test"), std::string::npos);
  EXPECT_NE(std::string(y.status().message()).find("channels"), std::string::npos);
}

}  // namespace
}  // namespace qbench
