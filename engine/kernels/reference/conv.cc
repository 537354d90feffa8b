#include "engine/kernels/reference/conv.h"

#include <array>

namespace qbench {

void ReferenceConv(const ConvParams& p, const float* x, const float* w, const float* b, float* y) {
  // Lift 1D/2D to 3D by prepending unit spatial dims, so one loop nest covers all ranks.
  const size_t ns = p.in_spatial.size();
  std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, d{1, 1, 1}, pb{0, 0, 0};
  for (size_t i = 0; i < ns; ++i) {
    const size_t j = 3 - ns + i;
    in[j] = p.in_spatial[i];
    out[j] = p.window.out[i];
    k[j] = p.window.kernel[i];
    s[j] = p.window.strides[i];
    d[j] = p.window.dilations[i];
    pb[j] = p.window.pads_begin[i];
  }
  const int64_t C = p.in_channels, M = p.out_channels, G = p.group;
  const int64_t cg = C / G, mg = M / G;
  const int64_t in_sp = in[0] * in[1] * in[2], out_sp = out[0] * out[1] * out[2], k_sp = k[0] * k[1] * k[2];
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t m = 0; m < M; ++m) {
      const int64_t g = m / mg;
      float* yp = y + (n * M + m) * out_sp;
      for (int64_t o0 = 0; o0 < out[0]; ++o0)
        for (int64_t o1 = 0; o1 < out[1]; ++o1)
          for (int64_t o2 = 0; o2 < out[2]; ++o2) {
            double acc = b ? b[m] : 0.0;  // double accumulation: the oracle should be the more exact side
            for (int64_t c = 0; c < cg; ++c) {
              const float* xp = x + (n * C + g * cg + c) * in_sp;
              const float* wp = w + (m * cg + c) * k_sp;
              for (int64_t k0 = 0; k0 < k[0]; ++k0) {
                const int64_t i0 = o0 * s[0] - pb[0] + k0 * d[0];
                if (i0 < 0 || i0 >= in[0]) continue;
                for (int64_t k1 = 0; k1 < k[1]; ++k1) {
                  const int64_t i1 = o1 * s[1] - pb[1] + k1 * d[1];
                  if (i1 < 0 || i1 >= in[1]) continue;
                  for (int64_t k2 = 0; k2 < k[2]; ++k2) {
                    const int64_t i2 = o2 * s[2] - pb[2] + k2 * d[2];
                    if (i2 < 0 || i2 >= in[2]) continue;
                    acc += static_cast<double>(xp[(i0 * in[1] + i1) * in[2] + i2]) *
                           wp[(k0 * k[1] + k1) * k[2] + k2];
                  }
                }
              }
            }
            yp[(o0 * out[1] + o1) * out[2] + o2] = static_cast<float>(acc);
          }
    }
}

}  // namespace qbench
