// Reference BatchNormalization (inference): the oracle for the oneDNN kernel and folding.
#pragma once

#include "engine/ops/batch_norm.h"

namespace qbench {

// y[n, c, s] = scale[c] * (x[n, c, s] - mean[c]) / sqrt(var[c] + epsilon) + bias[c]
// computed in double per element; x and y are row-major [N, C, spatial].
void ReferenceBatchNorm(const BatchNormParams& p, const float* x, const float* scale, const float* bias,
                        const float* mean, const float* var, float* y);

}  // namespace qbench
