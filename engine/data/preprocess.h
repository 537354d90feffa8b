// The image preprocessing pipeline, applied per sample:
//
//   decode -> channels (gray <-> RGB) -> resize (shorter side or exact) -> center crop
//          -> float: (pixel * scale - mean[c]) / std[c] -> channel order -> layout
//
// mean and std are given per *output* channel, i.e. already in BGR order when
// channel_order is bgr (Caffe models list their means as B, G, R).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "engine/core/shape.h"
#include "engine/data/image.h"
#include "engine/data/transforms.h"
#include "spec/preprocess_config.h"

namespace qbench::data {

// Shape of one sample with `channels` channels and a height x width image.
Shape SampleShape(Layout layout, int channels, Size size);

class Preprocessor {
 public:
  explicit Preprocessor(PreprocessConfig config);

  const PreprocessConfig& config() const { return config_; }
  // True when resize or center_crop fixes the output size whatever the input.
  bool has_fixed_size() const;
  // Output height x width for an input of the given size (after resize and crop).
  Size OutputSize(Size input) const;
  Shape OutputShape(Size input) const { return SampleShape(config_.layout, config_.channels, OutputSize(input)); }

  // Runs the pipeline on a gray or RGB image and writes NumElements(OutputShape(...))
  // floats to dst. Thread-safe (const, no shared scratch).
  void Run(const Image& src, float* dst) const;

 private:
  Size ResizedSize(Size input) const;  // after the resize step, before the crop

  PreprocessConfig config_;
  // lut_[c * 256 + v] = (v * scale - mean[c]) / std[c] for output channel c, computed in
  // double once and rounded to float, so Run() is a table lookup per value.
  std::vector<float> lut_;
};

}  // namespace qbench::data
