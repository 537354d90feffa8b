#include "engine/kernels/reference/pool.h"

#include <array>
#include <limits>

namespace qbench {

void ReferencePool(const PoolParams& p, const float* x, float* y) {
  // Lift 1D/2D to 3D by prepending unit spatial dims, so one loop nest covers all ranks.
  const size_t ns = p.in_spatial.size();
  std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, d{1, 1, 1}, pb{0, 0, 0},
      pe_counted{0, 0, 0};
  for (size_t i = 0; i < ns; ++i) {
    const size_t j = 3 - ns + i;
    in[j] = p.in_spatial[i];
    out[j] = p.window.out[i];
    k[j] = p.window.kernel[i];
    s[j] = p.window.strides[i];
    d[j] = p.window.dilations[i];
    pb[j] = p.window.pads_begin[i];
    pe_counted[j] = p.counted_pads_end[i];
  }
  const bool is_max = p.kind == PoolKind::kMax;
  const int64_t in_sp = in[0] * in[1] * in[2], out_sp = out[0] * out[1] * out[2];
  // Whether window position `pos` along dim j lies in X, and whether it counts in the
  // average's divisor (inside X, or with count_include_pad inside the counted pads).
  auto inside = [&](int j, int64_t pos) { return pos >= 0 && pos < in[j]; };
  auto counted = [&](int j, int64_t pos) {
    return p.count_include_pad ? pos >= -pb[j] && pos < in[j] + pe_counted[j] : inside(j, pos);
  };
  for (int64_t nc = 0; nc < p.batch * p.channels; ++nc) {
    const float* xp = x + nc * in_sp;
    float* yp = y + nc * out_sp;
    for (int64_t o0 = 0; o0 < out[0]; ++o0)
      for (int64_t o1 = 0; o1 < out[1]; ++o1)
        for (int64_t o2 = 0; o2 < out[2]; ++o2) {
          float max = -std::numeric_limits<float>::infinity();
          double sum = 0.0;  // double accumulation: the oracle should be the more exact side
          int64_t divisor = 0;
          for (int64_t k0 = 0; k0 < k[0]; ++k0) {
            const int64_t i0 = o0 * s[0] - pb[0] + k0 * d[0];
            for (int64_t k1 = 0; k1 < k[1]; ++k1) {
              const int64_t i1 = o1 * s[1] - pb[1] + k1 * d[1];
              for (int64_t k2 = 0; k2 < k[2]; ++k2) {
                const int64_t i2 = o2 * s[2] - pb[2] + k2 * d[2];
                if (counted(0, i0) && counted(1, i1) && counted(2, i2)) ++divisor;
                if (!inside(0, i0) || !inside(1, i1) || !inside(2, i2)) continue;
                const float v = xp[(i0 * in[1] + i1) * in[2] + i2];
                if (v > max || v != v) max = v;  // a NaN input propagates rather than hiding
                sum += v;
              }
            }
          }
          const int64_t o = (o0 * out[1] + o1) * out[2] + o2;
          if (is_max) yp[o] = max;
          else yp[o] = divisor > 0 ? static_cast<float>(sum / divisor) : 0.f;
        }
  }
}

}  // namespace qbench
