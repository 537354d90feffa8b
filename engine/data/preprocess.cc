#include "engine/data/preprocess.h"

#include <cassert>
#include <utility>

#include "engine/data/resize.h"

namespace qbench::data {

Shape SampleShape(Layout layout, int channels, Size size) {
  if (layout == Layout::kNchw) return {channels, size.height, size.width};
  return {size.height, size.width, channels};
}

Preprocessor::Preprocessor(PreprocessConfig config) : config_(std::move(config)) {
  const int c = config_.channels;
  lut_.resize(static_cast<size_t>(c) * 256);
  for (int ch = 0; ch < c; ++ch) {
    const double mean = config_.mean.empty() ? 0.0 : config_.mean[ch];
    const double std = config_.std.empty() ? 1.0 : config_.std[ch];
    for (int v = 0; v < 256; ++v) lut_[ch * 256 + v] = static_cast<float>((v * config_.scale - mean) / std);
  }
}

bool Preprocessor::has_fixed_size() const {
  return config_.resize.height > 0 || config_.center_crop.height > 0;
}

Size Preprocessor::ResizedSize(Size input) const {
  if (config_.resize.height > 0) return config_.resize;
  if (config_.resize_shorter > 0) return ShorterSideSize(input.height, input.width, config_.resize_shorter);
  return input;
}

Size Preprocessor::OutputSize(Size input) const {
  return config_.center_crop.height > 0 ? config_.center_crop : ResizedSize(input);
}

void Preprocessor::Run(const Image& src, float* dst) const {
  const int c = config_.channels;
  assert(src.channels == 1 || src.channels == 3);
  // RGB -> gray must happen before resizing (luma of resized != resized luma after
  // rounding). Gray -> RGB is deferred to the last step: resize and crop act on each
  // channel alike, so expanding late gives the same bytes for a third of the work.
  Image img = (src.channels == 3 && c == 1) ? RgbToGray(src) : src;

  const Size resized = ResizedSize({img.height, img.width});
  if (resized.height != img.height || resized.width != img.width)
    img = ResizeBilinear(img, resized.width, resized.height);
  if (config_.center_crop.height > 0) img = CenterCrop(img, config_.center_crop.height, config_.center_crop.width);

  const int64_t h = img.height;
  const int64_t w = img.width;
  const int src_c = img.channels;
  for (int oc = 0; oc < c; ++oc) {
    // Output channel oc reads source channel oc (rgb) or c-1-oc (bgr); gray feeds every one.
    const int sc = src_c == 1 ? 0 : (config_.channel_order == ChannelOrder::kBgr ? c - 1 - oc : oc);
    const float* lut = &lut_[static_cast<size_t>(oc) * 256];
    const uint8_t* p = img.pixels.data() + sc;
    if (config_.layout == Layout::kNchw) {
      float* out = dst + oc * h * w;
      for (int64_t i = 0; i < h * w; ++i) out[i] = lut[p[i * src_c]];
    } else {
      for (int64_t i = 0; i < h * w; ++i) dst[i * c + oc] = lut[p[i * src_c]];
    }
  }
}

}  // namespace qbench::data
