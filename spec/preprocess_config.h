// A dataset manifest's "preprocess" block (spec/manifest.h) as plain data; the engine's
// Preprocessor (engine/data/preprocess.h) carries it out per sample.
#pragma once

#include <vector>

namespace qbench::data {

struct Size {
  int height = 0;
  int width = 0;
  bool operator==(const Size&) const = default;
};

enum class ChannelOrder { kRgb, kBgr };
enum class Layout { kNchw, kNhwc };  // of the batch; a sample is {C,H,W} or {H,W,C}

struct PreprocessConfig {
  int resize_shorter = 0;   // > 0: resize so the shorter side has this many pixels
  Size resize;              // both > 0: resize to exactly this size (excludes resize_shorter)
  Size center_crop;         // both > 0: crop (or zero-pad) a centered window of this size
  int channels = 3;         // 1 or 3: the model's input channels
  double scale = 1.0 / 255; // raw 0..255 pixel -> pixel * scale
  std::vector<double> mean; // `channels` values, or empty for 0
  std::vector<double> std;  // `channels` values (non-zero), or empty for 1
  ChannelOrder channel_order = ChannelOrder::kRgb;
  Layout layout = Layout::kNchw;
};

}  // namespace qbench::data
