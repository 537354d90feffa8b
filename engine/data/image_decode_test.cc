#include "engine/data/image_decode.h"

#include <png.h>

#include <cstdlib>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/data/test_util.h"

namespace qbench::data {
namespace {

using ::testing::HasSubstr;
using test_util::MakeImage;
using test_util::TempDir;

int MaxAbsDiff(const Image& a, const Image& b) {
  int worst = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) worst = std::max(worst, std::abs(a.pixels[i] - b.pixels[i]));
  return worst;
}

TEST(PngTest, RgbAndGrayRoundTripExactly) {
  TempDir dir;
  Image rgb = MakeImage(7, 5, 3, [](int y, int x, int c) { return 30 * y + 7 * x + 50 * c; });
  Image gray = MakeImage(3, 4, 1, [](int y, int x, int) { return 60 * y + x; });
  test_util::WritePng(dir.File("rgb.png"), rgb);
  test_util::WritePng(dir.File("gray.png"), gray);

  absl::StatusOr<Image> a = DecodeImageFile(dir.File("rgb.png"));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->channels, 3);
  EXPECT_EQ(a->width, 7);
  EXPECT_EQ(a->pixels, rgb.pixels);
  absl::StatusOr<Image> b = DecodeImageFile(dir.File("gray.png"));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->channels, 1);
  EXPECT_EQ(b->pixels, gray.pixels);
}

TEST(PngTest, AlphaDroppedSixteenBitHighBytePaletteExpanded) {
  TempDir dir;
  // RGBA: alpha dropped.
  test_util::WritePng(dir.File("rgba.png"), 2, 1, PNG_COLOR_TYPE_RGB_ALPHA, 8, {10, 20, 30, 0, 40, 50, 60, 255});
  absl::StatusOr<Image> rgba = DecodeImageFile(dir.File("rgba.png"));
  ASSERT_TRUE(rgba.ok()) << rgba.status();
  EXPECT_EQ(rgba->channels, 3);
  EXPECT_EQ(rgba->pixels, (std::vector<uint8_t>{10, 20, 30, 40, 50, 60}));

  // 16-bit gray + alpha: high byte of the gray value.
  test_util::WritePng(dir.File("g16.png"), 2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 16, {0x1234, 0xFFFF, 0xABCD, 0});
  absl::StatusOr<Image> g16 = DecodeImageFile(dir.File("g16.png"));
  ASSERT_TRUE(g16.ok()) << g16.status();
  EXPECT_EQ(g16->channels, 1);
  EXPECT_EQ(g16->pixels, (std::vector<uint8_t>{0x12, 0xAB}));

  // 2-bit palette: indices to RGB.
  test_util::WritePng(dir.File("pal.png"), 3, 1, PNG_COLOR_TYPE_PALETTE, 2, {2, 0, 1},
                      {1, 2, 3, 4, 5, 6, 7, 8, 9});
  absl::StatusOr<Image> pal = DecodeImageFile(dir.File("pal.png"));
  ASSERT_TRUE(pal.ok()) << pal.status();
  EXPECT_EQ(pal->pixels, (std::vector<uint8_t>{7, 8, 9, 1, 2, 3, 4, 5, 6}));

  // 1-bit gray: 0 / 255.
  test_util::WritePng(dir.File("g1.png"), 3, 1, PNG_COLOR_TYPE_GRAY, 1, {1, 0, 1});
  absl::StatusOr<Image> g1 = DecodeImageFile(dir.File("g1.png"));
  ASSERT_TRUE(g1.ok()) << g1.status();
  EXPECT_EQ(g1->pixels, (std::vector<uint8_t>{255, 0, 255}));
}

TEST(JpegTest, DecodesRgbAndGrayCloseToSource) {
  TempDir dir;
  Image rgb = MakeImage(16, 16, 3, [](int y, int x, int c) { return c == 0 ? 200 : c == 1 ? 8 * x : 8 * y; });
  test_util::WriteJpeg(dir.File("a.jpg"), rgb);
  absl::StatusOr<Image> a = DecodeImageFile(dir.File("a.jpg"));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->channels, 3);
  EXPECT_EQ(a->width, 16);
  EXPECT_LE(MaxAbsDiff(*a, rgb), 4);

  Image gray = MakeImage(8, 8, 1, [](int, int, int) { return 77; });
  test_util::WriteJpeg(dir.File("g.jpeg"), gray);
  absl::StatusOr<Image> g = DecodeImageFile(dir.File("g.jpeg"));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->channels, 1);
  EXPECT_LE(MaxAbsDiff(*g, gray), 1);
}

// Photoshop-style CMYK (Adobe marker, inverted samples): stored 255 - ink.
// Ink C=0 M=255 Y=255 K=0 is red; K=255 is black.
TEST(JpegTest, ConvertsAdobeCmykToRgb) {
  TempDir dir;
  std::vector<uint8_t> cmyk;
  for (int i = 0; i < 64; ++i) {
    const bool black = i >= 32;  // bottom half
    cmyk.insert(cmyk.end(), {255, 0, 0, static_cast<uint8_t>(black ? 0 : 255)});
  }
  test_util::WriteJpeg(dir.File("cmyk.jpg"), 8, 8, 4, cmyk);
  absl::StatusOr<Image> img = DecodeImageFile(dir.File("cmyk.jpg"));
  ASSERT_TRUE(img.ok()) << img.status();
  ASSERT_EQ(img->channels, 3);
  EXPECT_NEAR(img->at(0, 0, 0), 255, 2);
  EXPECT_NEAR(img->at(0, 0, 1), 0, 2);
  EXPECT_NEAR(img->at(0, 0, 2), 0, 2);
  EXPECT_NEAR(img->at(7, 7, 0), 0, 2);
}

TEST(JpegTest, CorruptOrTruncatedBytesGiveErrorsNamingTheFile) {
  TempDir dir;
  Image rgb = MakeImage(32, 32, 3, [](int y, int x, int c) { return (x * y + c * 40) % 256; });
  test_util::WriteJpeg(dir.File("ok.jpg"), rgb);
  std::vector<uint8_t> bytes = test_util::ReadBytes(dir.File("ok.jpg"));

  std::vector<uint8_t> garbled(bytes.begin(), bytes.begin() + 3);  // valid SOI, then junk
  for (int i = 0; i < 200; ++i) garbled.push_back(static_cast<uint8_t>(i * 37));
  test_util::WriteBytes(dir.File("garbled.jpg"), garbled);
  absl::Status s = DecodeImageFile(dir.File("garbled.jpg")).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr(dir.File("garbled.jpg")));
  EXPECT_THAT(std::string(s.message()), HasSubstr("corrupt JPEG"));

  std::vector<uint8_t> truncated(bytes.begin(), bytes.begin() + bytes.size() / 2);
  test_util::WriteBytes(dir.File("cut.jpg"), truncated);
  s = DecodeImageFile(dir.File("cut.jpg")).status();
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr(dir.File("cut.jpg")));
}

TEST(DecodeTest, UnknownBytesAndMissingFile) {
  TempDir dir;
  test_util::WriteText(dir.File("x.png"), "hello, not an image");
  absl::Status s = DecodeImageFile(dir.File("x.png")).status();
  EXPECT_THAT(std::string(s.message()), HasSubstr("not a JPEG or PNG"));
  EXPECT_THAT(std::string(s.message()), HasSubstr(dir.File("x.png")));

  std::vector<uint8_t> png_cut = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0};
  test_util::WriteBytes(dir.File("cut.png"), png_cut);
  s = DecodeImageFile(dir.File("cut.png")).status();
  EXPECT_THAT(std::string(s.message()), HasSubstr("corrupt PNG"));

  s = DecodeImageFile(dir.File("missing.jpg")).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr(dir.File("missing.jpg")));
}

}  // namespace
}  // namespace qbench::data
