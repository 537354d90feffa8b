// An 8-bit image in memory: rows top to bottom, pixels interleaved (HWC).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace qbench::data {

struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;              // 1 (gray) or 3 (RGB)
  std::vector<uint8_t> pixels;   // height * width * channels bytes

  Image() = default;
  Image(int w, int h, int c)
      : width(w), height(h), channels(c), pixels(static_cast<size_t>(w) * h * c) {}

  uint8_t& at(int y, int x, int c) { return pixels[(static_cast<size_t>(y) * width + x) * channels + c]; }
  uint8_t at(int y, int x, int c) const {
    return pixels[(static_cast<size_t>(y) * width + x) * channels + c];
  }
};

}  // namespace qbench::data
