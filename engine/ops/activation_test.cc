#include <cmath>

#include <gtest/gtest.h>

#include "engine/ops/op_test_util.h"

namespace qbench {
namespace {

using testing::ExpectNear;
using testing::MakeNode;
using testing::RunRef;

const std::vector<float> kX = {-4.f, -1.f, 0.f, 0.5f, 3.f, 7.f};

TEST(ActivationReferenceTest, TableOfFunctions) {
  struct Case {
    const char* op;
    std::vector<float> want;
  } cases[] = {
      {"Relu", {0, 0, 0, 0.5f, 3, 7}},
      {"LeakyRelu", {-0.04f, -0.01f, 0, 0.5f, 3, 7}},
      {"HardSigmoid", {0, 0.3f, 0.5f, 0.6f, 1, 1}},
      {"HardSwish", {0, -1.f / 3, 0, 0.5f * (0.5f / 6 + 0.5f), 3, 7}},
      {"Sigmoid", {1 / (1 + std::exp(4.f)), 1 / (1 + std::exp(1.f)), 0.5f, 1 / (1 + std::exp(-0.5f)),
                   1 / (1 + std::exp(-3.f)), 1 / (1 + std::exp(-7.f))}},
      {"Tanh", {std::tanh(-4.f), std::tanh(-1.f), 0, std::tanh(0.5f), std::tanh(3.f), std::tanh(7.f)}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.op);
    auto y = RunRef(MakeNode(c.op, 1), {Tensor::FromFloats({6}, kX)});
    ASSERT_TRUE(y.ok()) << y.status();
    ExpectNear((*y)[0], c.want);
  }
}

TEST(ActivationReferenceTest, ClipFromInputsAndAttributes) {
  auto y = RunRef(MakeNode("Clip", 3), {Tensor::FromFloats({6}, kX), Tensor::Scalar(0.f), Tensor::Scalar(6.f)});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {0, 0, 0, 0.5f, 3, 6});
  Attributes a;
  a.Set("min", -1.f);
  a.Set("max", 1.f);
  y = RunRef(MakeNode("Clip", 1, a), {Tensor::FromFloats({6}, kX)});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {-1, -1, 0, 0.5f, 1, 1});
}

TEST(ActivationReferenceTest, LeakyReluAlpha) {
  Attributes a;
  a.Set("alpha", 0.5f);
  auto y = RunRef(MakeNode("LeakyRelu", 1, a), {Tensor::FromFloats({6}, kX)});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear((*y)[0], {-2, -0.5f, 0, 0.5f, 3, 7});
}

}  // namespace
}  // namespace qbench
