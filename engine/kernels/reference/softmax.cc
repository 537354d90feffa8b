#include "engine/kernels/reference/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace qbench {

void ReferenceSoftmax(const SoftmaxParams& p, const float* x, float* y) {
  const int64_t N = p.n, I = p.inner;
  for (int64_t o = 0; o < p.outer; ++o)
    for (int64_t j = 0; j < I; ++j) {
      const float* xp = x + o * N * I + j;  // element i at xp[i * I]
      float* yp = y + o * N * I + j;
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t i = 0; i < N; ++i) m = std::max<double>(m, xp[i * I]);
      double sum = 0.0;
      for (int64_t i = 0; i < N; ++i) sum += std::exp(xp[i * I] - m);
      for (int64_t i = 0; i < N; ++i) yp[i * I] = static_cast<float>(std::exp(xp[i * I] - m) / sum);
    }
}

}  // namespace qbench
