// Shared by the integer Conv and Gemm kernels: the oneDNN 2.6 attributes of a lowered
// layer (Node::quant). oneDNN 2.6 computes, per output channel c,
//   dst_q = sat(rne(postops(oscale[c] * (sum (src_q - zp_src) * w_q + bias_acc[c])) + zp_dst))
// so with real = s * (q - z) for src (s_x), weights (s_w[c]) and dst (s_y):
//   oscale[c]   = s_x * s_w[c] * k,     bias_acc[c] = bias[c] / (s_x * s_w[c]),
// where k = 1 / s_y when the post-ops commute with a positive scale (Relu, LeakyRelu,
// Clip with bounds times k, a Sum with beta = s_r * k and zero point z_r), and k = 1
// otherwise, with a final linear post-op 1 / s_y after them. A float32 output uses k = 1.
// A narrow n-bit output grid adds a clip to [qmin - z_y, qmax - z_y] before zp_dst.
#pragma once

#include <vector>

#include <dnnl.hpp>

#include "absl/status/statusor.h"
#include "worker/engine/graph/graph.h"

namespace qbench {

struct Int8Attr {
  dnnl::primitive_attr attr;
  std::vector<float> bias_scale;  // multiply the real bias by this, per channel
};

// `channels` is the number of output channels; s_w has 1 or `channels` entries.
absl::StatusOr<Int8Attr> BuildInt8Attr(const Node& node, int64_t channels, int dst_mask);

}  // namespace qbench
