#include "engine/kernels/reference/batch_norm.h"

#include <cmath>

namespace qbench {

void ReferenceBatchNorm(const BatchNormParams& p, const float* x, const float* scale, const float* bias,
                        const float* mean, const float* var, float* y) {
  const int64_t C = p.channels, S = p.spatial;
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const double inv_std = 1.0 / std::sqrt(static_cast<double>(var[c]) + p.epsilon);
      const int64_t base = (n * C + c) * S;
      for (int64_t s = 0; s < S; ++s)
        y[base + s] = static_cast<float>(scale[c] * ((x[base + s] - static_cast<double>(mean[c])) * inv_std) + bias[c]);
    }
}

}  // namespace qbench
