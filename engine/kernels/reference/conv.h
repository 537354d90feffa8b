// Reference convolution: a direct loop nest, the oracle for the oneDNN kernels.
#pragma once

#include "engine/ops/conv.h"

namespace qbench {

// y[n, m, o...] = b[m] + sum_{c in group(m), k...} x[n, c, o*s - pb + k*d] * w[m, c - g0, k...]
// with out-of-range input positions (padding) contributing zero. Works for 1, 2 and 3
// spatial dims (lower ranks are treated as 3D with unit dims). All tensors row-major.
void ReferenceConv(const ConvParams& p, const float* x, const float* w, const float* b, float* y);

}  // namespace qbench
