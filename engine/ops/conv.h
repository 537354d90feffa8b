// Conv (ONNX opsets 1-17): parameters shared by inference, the reference kernel and the
// oneDNN backend, so every backend resolves pads and groups the same way.
#pragma once

#include <span>

#include "absl/status/statusor.h"
#include "engine/ops/op_def.h"
#include "engine/ops/window.h"

namespace qbench {

struct ConvParams {
  int64_t batch;          // N (kDynamicDim at import time)
  int64_t in_channels;    // C
  int64_t out_channels;   // M
  int64_t group;          // C and M are multiples of group; depthwise when group == C
  std::vector<int64_t> in_spatial;  // input spatial sizes
  Window window;          // kernel, strides, dilations, pads, output spatial sizes
  bool has_bias;
};

// X: [N, C, D1..Dk], W: [M, C/group, K1..Kk], B: [M] (optional).
absl::StatusOr<ConvParams> ParseConv(const Node& node, std::span<const TensorMeta> in);

}  // namespace qbench
