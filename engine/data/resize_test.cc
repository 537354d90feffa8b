// Resize and geometry against values computed by hand from PIL's definitions (resize.h).
#include "engine/data/resize.h"

#include <gtest/gtest.h>

#include "engine/data/test_util.h"
#include "engine/data/transforms.h"

namespace qbench::data {
namespace {

using test_util::MakeImage;

std::vector<int> Row(const Image& img, int y, int c = 0) {
  std::vector<int> out;
  for (int x = 0; x < img.width; ++x) out.push_back(img.at(y, x, c));
  return out;
}

TEST(ResizeTest, SameSizeIsIdentity) {
  Image src = MakeImage(5, 3, 3, [](int y, int x, int c) { return 17 * y + 5 * x + c; });
  Image dst = ResizeBilinear(src, 5, 3);
  EXPECT_EQ(dst.pixels, src.pixels);
}

// 4 -> 2 downscale: scale = 2, support = 2, center(0) = 1.0, taps x = 0, 1, 2 with
// triangle weights 1 - |x - 1 + 0.5| / 2 = 0.75, 0.75, 0.25 -> 3/7, 3/7, 1/7; output 1
// (center 3.0) reads x = 1, 2, 3 with 1/7, 3/7, 3/7. It is not a plain 2x2 average.
// [0, 70, 140, 210] -> [(0*3 + 70*3 + 140) / 7, (70 + 140*3 + 210*3) / 7] = [50, 160].
TEST(ResizeTest, HalvingUsesWidenedTriangle) {
  Image h = MakeImage(4, 4, 1, [](int, int x, int) { return 70 * x; });
  Image out = ResizeBilinear(h, 2, 2);
  EXPECT_EQ(Row(out, 0), (std::vector<int>{50, 160}));
  EXPECT_EQ(Row(out, 1), (std::vector<int>{50, 160}));

  Image v = MakeImage(4, 4, 1, [](int y, int, int) { return 70 * y; });
  out = ResizeBilinear(v, 2, 2);
  EXPECT_EQ(Row(out, 0), (std::vector<int>{50, 50}));
  EXPECT_EQ(Row(out, 1), (std::vector<int>{160, 160}));
}

// Results round to nearest: [0, 255, 0, 255] -> out0 = (0*3 + 255*3 + 0*1) / 7 = 109.29
// -> 109, out1 = (255*1 + 0*3 + 255*3) / 7 = 145.71 -> 146.
TEST(ResizeTest, RoundsToNearest) {
  Image src = MakeImage(4, 1, 1, [](int, int x, int) { return x % 2 ? 255 : 0; });
  EXPECT_EQ(Row(ResizeBilinear(src, 2, 1), 0), (std::vector<int>{109, 146}));
}

// 2 -> 4 upscale: scale 0.5, support 1; centers 0.25, 0.75, 1.25, 1.75 give weights
// {1}, {0.75, 0.25}, {0.25, 0.75}, {1}: [0, 100] -> [0, 25, 75, 100].
TEST(ResizeTest, UpscaleInterpolates) {
  Image src = MakeImage(2, 1, 1, [](int, int x, int) { return 100 * x; });
  EXPECT_EQ(Row(ResizeBilinear(src, 4, 1), 0), (std::vector<int>{0, 25, 75, 100}));
}

TEST(ResizeTest, ConstantStaysConstantAndChannelsIndependent) {
  Image src = MakeImage(37, 23, 3, [](int, int, int c) { return 40 + 80 * c; });
  Image dst = ResizeBilinear(src, 11, 17);
  ASSERT_EQ(dst.width, 11);
  ASSERT_EQ(dst.height, 17);
  for (int y = 0; y < 17; ++y)
    for (int x = 0; x < 11; ++x)
      for (int c = 0; c < 3; ++c) ASSERT_EQ(dst.at(y, x, c), 40 + 80 * c);
}

TEST(TransformsTest, ShorterSideLikeTorchvision) {
  EXPECT_EQ(ShorterSideSize(480, 640, 256), (Size{256, 341}));  // 256 * 640 / 480 = 341.33
  EXPECT_EQ(ShorterSideSize(500, 375, 256), (Size{341, 256}));
  EXPECT_EQ(ShorterSideSize(300, 300, 256), (Size{256, 256}));
  EXPECT_EQ(ShorterSideSize(256, 1000, 256), (Size{256, 1000}));  // already there
}

TEST(TransformsTest, CenterCropOffsetRoundsHalfToEven) {
  EXPECT_EQ(CenterCropOffset(256, 224), 16);
  EXPECT_EQ(CenterCropOffset(5, 2), 2);   // round(1.5) = 2
  EXPECT_EQ(CenterCropOffset(7, 2), 2);   // round(2.5) = 2 (Python rounds half to even)
  EXPECT_EQ(CenterCropOffset(341, 224), 58);  // round(58.5) = 58
  EXPECT_EQ(CenterCropOffset(4, 4), 0);
  EXPECT_EQ(CenterCropOffset(2, 5), -1);  // pads (5 - 2) // 2 = 1 before
}

TEST(TransformsTest, CenterCropTakesMiddleAndPadsWithZero) {
  Image src = MakeImage(6, 4, 1, [](int y, int x, int) { return 10 * y + x + 1; });
  Image crop = CenterCrop(src, 2, 2);  // top = 1, left = 2
  EXPECT_EQ(Row(crop, 0), (std::vector<int>{13, 14}));
  EXPECT_EQ(Row(crop, 1), (std::vector<int>{23, 24}));

  Image small = MakeImage(2, 1, 1, [](int, int x, int) { return 7 + x; });
  Image padded = CenterCrop(small, 3, 4);  // top = -1, left = -1
  EXPECT_EQ(Row(padded, 0), (std::vector<int>{0, 0, 0, 0}));
  EXPECT_EQ(Row(padded, 1), (std::vector<int>{0, 7, 8, 0}));
  EXPECT_EQ(Row(padded, 2), (std::vector<int>{0, 0, 0, 0}));
}

TEST(TransformsTest, LumaMatchesPil) {
  Image rgb(4, 1, 3);
  const uint8_t colors[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
  for (int x = 0; x < 4; ++x)
    for (int c = 0; c < 3; ++c) rgb.at(0, x, c) = colors[x][c];
  // PIL: Image.new("RGB", ...).convert("L") gives 76, 150, 29, 255 for these colours.
  EXPECT_EQ(Row(RgbToGray(rgb), 0), (std::vector<int>{76, 150, 29, 255}));
  Image back = GrayToRgb(RgbToGray(rgb));
  EXPECT_EQ(back.channels, 3);
  EXPECT_EQ(back.at(0, 1, 2), 150);
}

}  // namespace
}  // namespace qbench::data
