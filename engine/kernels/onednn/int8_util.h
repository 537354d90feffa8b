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

#include <unordered_map>
#include <vector>

#include <dnnl.hpp>

#include "absl/status/statusor.h"
#include "engine/graph/graph.h"

namespace qbench {

// The widest signed weight grid whose products oneDNN's int8 kernels compute exactly on
// this CPU: 8 bits where the effective ISA has VNNI (VPDPBUSD adds u8 x s8 products in
// int32) or AMX, 7 bits otherwise. Without VNNI the kernels pair products in VPMADDUBSW,
// which saturates in int16: 2 x 255 x 127 = 64770 > 32767, while 2 x 255 x 64 = 32640
// fits, so weights on [-64, 63] are exact (../shared/DEPENDENCY-NOTES.md, trap 3).
int Int8ExactWeightBits();

struct Int8Attr {
  dnnl::primitive_attr attr;
  std::vector<float> bias_scale;  // multiply the real bias by this, per channel
};

// `channels` is the number of output channels; s_w has 1 or `channels` entries.
absl::StatusOr<Int8Attr> BuildInt8Attr(const Node& node, int64_t channels, int dst_mask);

// Dynamic activations (s_x and z_x known only at run time; float output). oneDNN 2.6's
// convolution takes no runtime output scale, so the runtime part moves into post-ops:
//   dst = postops( (s_w[c] * (sum (src_q - z_x) * w_q)) * s_x + bias[c] )
// with oscale = s_w[c] fixed, a runtime src zero point, a binary_mul by the scalar s_x
// (post-op 0) and a binary_add of the real bias (post-op 1), then the node's own
// post-ops in real units. `scalar_md` and `bias_md` describe s_x and the bias
// broadcast against dst ({1,1,1,1} and {1,C,1,1} for a 2-D conv, {1,1} and {1,N} for a
// matmul).
absl::StatusOr<dnnl::primitive_attr> BuildDynamicInt8Attr(const Node& node, int64_t channels, int dst_mask,
                                                          const dnnl::memory::desc& scalar_md,
                                                          const dnnl::memory::desc& bias_md);

// Execute-time arguments of a dynamic layer: s_x (a view of the runtime scalar), z_x as
// s32, and the bias.
class DynamicArgs {
 public:
  void Init(const dnnl::engine& engine, const dnnl::memory::desc& scalar_md, dnnl::memory bias);
  // `scale` holds one f32, `zero_point` one u8.
  void Bind(const dnnl::memory& scale, const dnnl::memory& zero_point,
            std::unordered_map<int, dnnl::memory>* args);

 private:
  dnnl::memory scale_view_, zp_, bias_;
};

}  // namespace qbench
