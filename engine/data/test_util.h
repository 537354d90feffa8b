// Helpers for the data tests: a scratch directory and writers for the file formats the
// module reads (IDX, PNG, JPEG), built with the same libraries (zlib, libpng, libjpeg).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/data/image.h"

namespace qbench::data::test_util {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/relative, creating parent folders.
  std::string File(const std::string& relative) const;

 private:
  std::string path_;
};

void WriteText(const std::string& path, const std::string& text);
void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes);
std::vector<uint8_t> ReadBytes(const std::string& path);

// An unsigned-byte IDX file with the given dims; gzip-compressed when `gzip`.
void WriteIdx(const std::string& path, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data,
              bool gzip);

// PNG with libpng. color_type is a PNG_COLOR_TYPE_* value; `samples` holds
// width * height * channels values of `bit_depth` bits (16-bit values as uint16).
// For palette images, samples are indices and `palette` holds RGB triples.
void WritePng(const std::string& path, int width, int height, int color_type, int bit_depth,
              const std::vector<uint16_t>& samples, const std::vector<uint8_t>& palette = {});
void WritePng(const std::string& path, const Image& img);  // 8-bit gray or RGB

// JPEG with libjpeg at the given quality; channels 1 (gray), 3 (RGB) or 4 (CMYK, stored
// inverted with an Adobe marker as Photoshop writes it: pass 255 - ink).
void WriteJpeg(const std::string& path, int width, int height, int channels, const std::vector<uint8_t>& pixels,
               int quality = 100);
void WriteJpeg(const std::string& path, const Image& img, int quality = 100);

// An image with pixel (y, x, c) = f(y, x, c).
template <class F>
Image MakeImage(int width, int height, int channels, F f) {
  Image img(width, height, channels);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < channels; ++c) img.at(y, x, c) = static_cast<uint8_t>(f(y, x, c));
  return img;
}

}  // namespace qbench::data::test_util
