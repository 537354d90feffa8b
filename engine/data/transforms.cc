#include "engine/data/transforms.h"

#include <cmath>

namespace qbench::data {

Size ShorterSideSize(int height, int width, int target) {
  const bool wide = width > height;
  const int short_side = wide ? height : width;
  const int long_side = wide ? width : height;
  // Python: int(requested_new_short * long / short), '/' being float division.
  const int new_long = static_cast<int>(static_cast<double>(int64_t{target} * long_side) / short_side);
  return wide ? Size{target, new_long} : Size{new_long, target};
}

int CenterCropOffset(int in, int out) {
  if (out > in) return -((out - in) / 2);
  // std::nearbyint rounds half to even in the default rounding mode, like Python's round().
  return static_cast<int>(std::nearbyint((in - out) / 2.0));
}

Image CenterCrop(const Image& src, int height, int width) {
  const int top = CenterCropOffset(src.height, height);
  const int left = CenterCropOffset(src.width, width);
  const int c = src.channels;
  Image dst(width, height, c);  // zero-filled: padding is pixel value 0, as torchvision pads
  for (int y = 0; y < height; ++y) {
    const int sy = y + top;
    if (sy < 0 || sy >= src.height) continue;
    for (int x = 0; x < width; ++x) {
      const int sx = x + left;
      if (sx < 0 || sx >= src.width) continue;
      for (int ch = 0; ch < c; ++ch) dst.at(y, x, ch) = src.at(sy, sx, ch);
    }
  }
  return dst;
}

Image RgbToGray(const Image& src) {
  Image dst(src.width, src.height, 1);
  const size_t n = static_cast<size_t>(src.width) * src.height;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = &src.pixels[i * 3];
    dst.pixels[i] = static_cast<uint8_t>((p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16);
  }
  return dst;
}

Image GrayToRgb(const Image& src) {
  Image dst(src.width, src.height, 3);
  const size_t n = static_cast<size_t>(src.width) * src.height;
  for (size_t i = 0; i < n; ++i) dst.pixels[i * 3] = dst.pixels[i * 3 + 1] = dst.pixels[i * 3 + 2] = src.pixels[i];
  return dst;
}

}  // namespace qbench::data
