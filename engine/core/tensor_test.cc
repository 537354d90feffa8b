#include "engine/core/tensor.h"

#include <cmath>

#include <gtest/gtest.h>

namespace qbench {
namespace {

TEST(TensorTest, AllocatesZeroedAligned) {
  Tensor t(DType::kF32, {2, 3, 5});
  EXPECT_EQ(t.num_elements(), 30);
  EXPECT_EQ(t.nbytes(), 120u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, 0u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(t.data<float>()[i], 0.f);
}

TEST(TensorTest, ReshapeSharesCloneCopies) {
  Tensor t = Tensor::FromFloats({2, 2}, {1, 2, 3, 4});
  Tensor r = t.Reshaped({4});
  Tensor c = t.Clone();
  t.data<float>()[0] = 9;
  EXPECT_EQ(r.data<float>()[0], 9);
  EXPECT_EQ(c.data<float>()[0], 1);
  EXPECT_EQ(r.shape(), Shape({4}));
}

TEST(TensorTest, ScalarHasOneElement) {
  Tensor s = Tensor::Scalar(2.5f);
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s.num_elements(), 1);
}

TEST(DTypeTest, HalfConversionMatchesKnownValues) {
  EXPECT_EQ(HalfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(HalfToFloat(0xc000), -2.0f);
  EXPECT_EQ(HalfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(HalfToFloat(0x7c00)));
  EXPECT_TRUE(std::isnan(HalfToFloat(0x7e00)));
}

TEST(DTypeTest, Bf16RoundsHalfToEven) {
  EXPECT_EQ(Bf16ToFloat(FloatToBf16(1.0f)), 1.0f);
  // 1 + 2^-8 sits exactly between two bf16 values (1 and 1 + 2^-7): ties go to even (1).
  EXPECT_EQ(Bf16ToFloat(FloatToBf16(1.0f + std::ldexp(1.0f, -8))), 1.0f);
  EXPECT_EQ(Bf16ToFloat(FloatToBf16(1.0f + 3 * std::ldexp(1.0f, -8))), 1.0f + std::ldexp(1.0f, -6));
}

TEST(TensorTest, CastHalfToFloat) {
  Tensor h(DType::kF16, {2});
  static_cast<uint16_t*>(h.raw())[0] = 0x3c00;
  static_cast<uint16_t*>(h.raw())[1] = 0x3800;  // 0.5
  Tensor f = h.CastTo(DType::kF32);
  EXPECT_EQ(f.data<float>()[0], 1.0f);
  EXPECT_EQ(f.data<float>()[1], 0.5f);
}

TEST(ShapeTest, StridesAndStrings) {
  EXPECT_EQ(Strides({2, 3, 4}), std::vector<int64_t>({12, 4, 1}));
  EXPECT_EQ(ShapeToString({-1, 3}), "[?,3]");
  EXPECT_FALSE(IsStatic({-1, 3}));
}

}  // namespace
}  // namespace qbench
