// The oneDNN dims of a convolution, shared by the float and integer conv kernels.
#pragma once

#include <dnnl.hpp>

#include "engine/ops/conv.h"

namespace qbench {

struct ConvDims {
  dnnl::memory::dims src, dst, weights, strides, dilations, pad_begin, pad_end;
};

// Grouped weights are 5-D in oneDNN, {G, OC/G, IC/G, K...}; oneDNN dilations count the
// skipped pixels (ONNX dilation - 1).
inline ConvDims MakeConvDims(const ConvParams& p, const Shape& src, const Shape& weights) {
  ConvDims d;
  d.src.assign(src.begin(), src.end());
  d.dst = {p.batch, p.out_channels};
  d.dst.insert(d.dst.end(), p.window.out.begin(), p.window.out.end());
  d.weights.assign(weights.begin(), weights.end());
  if (p.group > 1) {
    d.weights[0] = p.out_channels / p.group;
    d.weights.insert(d.weights.begin(), p.group);
  }
  d.strides.assign(p.window.strides.begin(), p.window.strides.end());
  d.pad_begin.assign(p.window.pads_begin.begin(), p.window.pads_begin.end());
  d.pad_end.assign(p.window.pads_end.begin(), p.window.pads_end.end());
  for (int64_t x : p.window.dilations) d.dilations.push_back(x - 1);
  return d;
}

}  // namespace qbench
