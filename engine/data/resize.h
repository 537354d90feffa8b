// Antialiased bilinear resize of 8-bit images, bit-exact with PIL's
// Image.resize(size, Image.BILINEAR) (Pillow's ImagingResample), which is what
// torchvision's Resize applies to PIL images.
//
// The math, per axis (in = source size, out = target size):
//   scale   = in / out                    source pixels per target pixel
//   fs      = max(scale, 1)               the filter widens when downscaling (antialias)
//   support = 1 * fs                      triangle filter radius, in source pixels
//   center  = (i + 0.5) * scale           target pixel i, in source coordinates
//   taps    = source x in [int(center - support + 0.5), int(center + support + 0.5)) ∩ [0, in)
//   w(x)    = max(0, 1 - |(x - center + 0.5) / fs|), then divided by the sum over the taps
// The weights are turned into fixed point with 22 fraction bits (rounded half away from
// zero); each output is (sum(pixel * w) + 2^21) >> 22 clamped to 0..255. The image is
// filtered horizontally first, rounded to uint8, then vertically, like Pillow for 8-bit
// modes; an axis whose size does not change is not filtered at all.
#pragma once

#include "engine/data/image.h"

namespace qbench::data {

// Returns `src` resized to out_width x out_height (both >= 1); same channel count.
Image ResizeBilinear(const Image& src, int out_width, int out_height);

}  // namespace qbench::data
