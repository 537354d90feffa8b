// Geometry and color steps of the preprocessing pipeline on 8-bit images, with
// torchvision's conventions (so accuracy numbers match PyTorch reference pipelines).
#pragma once

#include "engine/data/image.h"
#include "spec/preprocess_config.h"  // Size

namespace qbench::data {

// torchvision Resize(int): the shorter side becomes `target` and the longer one
// int(target * long / short) (truncated, computed in double as Python does); a square
// image becomes target x target.
Size ShorterSideSize(int height, int width, int target);

// Offset of a centered window of `out` pixels inside `in` pixels, torchvision style:
//   out <= in: int(round((in - out) / 2.0)) with Python's round (half to even)
//   out >  in: -((out - in) // 2), i.e. torchvision pads (out - in) // 2 zeros before
int CenterCropOffset(int in, int out);

// Crops (or zero-pads where the window leaves the image) a height x width window centered
// as CenterCropOffset() says.
Image CenterCrop(const Image& src, int height, int width);

// Luma like PIL's convert("L"): L = (19595 R + 38470 G + 7471 B + 2^15) >> 16, i.e.
// ITU-R 601 weights 0.299, 0.587, 0.114 in 16-bit fixed point.
Image RgbToGray(const Image& src);

// Gray -> RGB by copying the gray value into each channel.
Image GrayToRgb(const Image& src);

}  // namespace qbench::data
