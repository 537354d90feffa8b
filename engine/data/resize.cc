#include "engine/data/resize.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace qbench::data {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's PRECISION_BITS: room for 255 * 2^22 sums

// Fixed-point filter taps for one axis: output i reads source [first[i], first[i] + count[i]).
struct AxisTaps {
  int ksize = 0;              // stride between the tap rows of consecutive outputs
  std::vector<int> first;
  std::vector<int> count;
  std::vector<int32_t> weights;  // out * ksize, 2^22 = 1.0
};

double Triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

AxisTaps ComputeTaps(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = 1.0 * filter_scale;  // bilinear support is 1
  AxisTaps taps;
  taps.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  taps.first.resize(out_size);
  taps.count.resize(out_size);
  taps.weights.assign(static_cast<size_t>(out_size) * taps.ksize, 0);
  std::vector<double> w(taps.ksize);
  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    // int() truncates toward zero as C's (int) cast does in Pillow; negatives clamp to 0.
    const int lo = std::max(static_cast<int>(center - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(center + support + 0.5), in_size);
    const int n = hi - lo;
    double sum = 0.0;
    for (int k = 0; k < n; ++k) {
      w[k] = Triangle((k + lo - center + 0.5) / filter_scale);
      sum += w[k];
    }
    int32_t* dst = &taps.weights[static_cast<size_t>(i) * taps.ksize];
    for (int k = 0; k < n; ++k) {
      const double v = (sum != 0.0 ? w[k] / sum : w[k]) * (1 << kPrecisionBits);
      dst[k] = static_cast<int32_t>(v < 0 ? v - 0.5 : v + 0.5);
    }
    taps.first[i] = lo;
    taps.count[i] = n;
  }
  return taps;
}

inline uint8_t Clip8(int32_t acc) {
  if (acc <= 0) return 0;
  const int32_t v = acc >> kPrecisionBits;
  return static_cast<uint8_t>(v > 255 ? 255 : v);
}

// One pass along x: every row is filtered independently, channels stay interleaved.
Image ResampleHorizontal(const Image& src, const AxisTaps& taps, int out_width) {
  const int c = src.channels;
  Image dst(out_width, src.height, c);
  for (int y = 0; y < src.height; ++y) {
    const uint8_t* row = &src.pixels[static_cast<size_t>(y) * src.width * c];
    for (int x = 0; x < out_width; ++x) {
      const int32_t* w = &taps.weights[static_cast<size_t>(x) * taps.ksize];
      const uint8_t* s = row + static_cast<size_t>(taps.first[x]) * c;
      for (int ch = 0; ch < c; ++ch) {
        int32_t acc = 1 << (kPrecisionBits - 1);  // +0.5 so the shift rounds
        for (int k = 0; k < taps.count[x]; ++k) acc += s[k * c + ch] * w[k];
        dst.at(y, x, ch) = Clip8(acc);
      }
    }
  }
  return dst;
}

// One pass along y: output row y mixes the source rows [first[y], first[y] + count[y]).
Image ResampleVertical(const Image& src, const AxisTaps& taps, int out_height) {
  const size_t row_bytes = static_cast<size_t>(src.width) * src.channels;
  Image dst(src.width, out_height, src.channels);
  for (int y = 0; y < out_height; ++y) {
    const int32_t* w = &taps.weights[static_cast<size_t>(y) * taps.ksize];
    const uint8_t* s = &src.pixels[static_cast<size_t>(taps.first[y]) * row_bytes];
    uint8_t* d = &dst.pixels[static_cast<size_t>(y) * row_bytes];
    for (size_t i = 0; i < row_bytes; ++i) {
      int32_t acc = 1 << (kPrecisionBits - 1);
      for (int k = 0; k < taps.count[y]; ++k) acc += s[k * row_bytes + i] * w[k];
      d[i] = Clip8(acc);
    }
  }
  return dst;
}

}  // namespace

Image ResizeBilinear(const Image& src, int out_width, int out_height) {
  const bool horizontal = out_width != src.width;
  const bool vertical = out_height != src.height;
  if (!horizontal && !vertical) return src;
  if (!horizontal) return ResampleVertical(src, ComputeTaps(src.height, out_height), out_height);
  Image h = ResampleHorizontal(src, ComputeTaps(src.width, out_width), out_width);
  if (!vertical) return h;
  return ResampleVertical(h, ComputeTaps(src.height, out_height), out_height);
}

}  // namespace qbench::data
