// Reference matrix products (Gemm, MatMul): plain loops with double accumulation, the
// oracles for the oneDNN matmul/inner-product kernels. All tensors row-major.
#pragma once

#include "engine/ops/gemm.h"

namespace qbench {

// y[i, j] = alpha * sum_k A'[i, k] * B'[k, j] + beta * c[i or 0, j or 0]
// where A'[i, k] = transA ? a[k, i] : a[i, k] and B'[k, j] = transB ? b[j, k] : b[k, j];
// c (nullptr when absent) is [c_rows, c_cols] and a dim of 1 broadcasts.
void ReferenceGemm(const GemmParams& p, const float* a, const float* b, const float* c, float* y);

// For each batch index i of p.batch: y[i] = a[i'] x b[i''] with [M, K] x [K, N] matrices,
// where i' and i'' map i onto the operands' own batch dims (a dim of 1 broadcasts).
void ReferenceMatMul(const MatMulParams& p, const float* a, const float* b, float* y);

}  // namespace qbench
