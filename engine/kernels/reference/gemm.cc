#include "engine/kernels/reference/gemm.h"

#include <vector>

namespace qbench {

void ReferenceGemm(const GemmParams& p, const float* a, const float* b, const float* c, float* y) {
  const int64_t M = p.m, N = p.n, K = p.k;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0.0;  // double accumulation: the oracle should be the more exact side
      for (int64_t k = 0; k < K; ++k) {
        const float av = p.trans_a ? a[k * M + i] : a[i * K + k];
        const float bv = p.trans_b ? b[j * K + k] : b[k * N + j];
        acc += static_cast<double>(av) * bv;
      }
      double v = static_cast<double>(p.alpha) * acc;
      if (c != nullptr) {
        const int64_t ci = p.c_rows == 1 ? 0 : i, cj = p.c_cols == 1 ? 0 : j;
        v += static_cast<double>(p.beta) * c[ci * p.c_cols + cj];
      }
      y[i * N + j] = static_cast<float>(v);
    }
}

void ReferenceMatMul(const MatMulParams& p, const float* a, const float* b, float* y) {
  const int64_t M = p.m, N = p.n, K = p.k;
  const size_t nb = p.batch.size();
  // Element strides of each operand's batch dims (in matrices); 0 where the dim broadcasts.
  std::vector<int64_t> a_stride(nb), b_stride(nb);
  int64_t as = 1, bs = 1, batch = 1;
  for (size_t d = nb; d-- > 0;) {
    a_stride[d] = p.a_batch[d] == 1 ? 0 : as;
    b_stride[d] = p.b_batch[d] == 1 ? 0 : bs;
    as *= p.a_batch[d];
    bs *= p.b_batch[d];
    batch *= p.batch[d];
  }
  std::vector<int64_t> idx(nb, 0);  // the current output batch index, row-major
  for (int64_t t = 0; t < batch; ++t) {
    int64_t ai = 0, bi = 0;
    for (size_t d = 0; d < nb; ++d) ai += idx[d] * a_stride[d], bi += idx[d] * b_stride[d];
    const float* am = a + ai * M * K;
    const float* bm = b + bi * K * N;
    float* ym = y + t * M * N;
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double acc = 0.0;
        for (int64_t k = 0; k < K; ++k) acc += static_cast<double>(am[i * K + k]) * bm[k * N + j];
        ym[i * N + j] = static_cast<float>(acc);
      }
    for (size_t d = nb; d-- > 0;) {  // odometer increment
      if (++idx[d] < p.batch[d]) break;
      idx[d] = 0;
    }
  }
}

}  // namespace qbench
