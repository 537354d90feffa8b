// Reference Softmax: the oracle for the oneDNN softmax kernel.
#pragma once

#include "engine/ops/softmax.h"

namespace qbench {

// For each (o, j) of the [outer, n, inner] view:
//   m = max_i x[o, i, j];  y[o, i, j] = exp(x[o, i, j] - m) / sum_i' exp(x[o, i', j] - m)
// Subtracting the max keeps exp() from overflowing (exp(x - m) <= 1) without changing the
// result; sums in double.
void ReferenceSoftmax(const SoftmaxParams& p, const float* x, float* y);

}  // namespace qbench
