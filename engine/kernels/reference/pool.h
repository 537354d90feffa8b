// Reference pooling (MaxPool, AveragePool, GlobalAveragePool): a direct loop nest, the
// oracle for the oneDNN pooling kernels.
#pragma once

#include "engine/ops/pool.h"

namespace qbench {

// For each output position o (per n, c) the window positions are i = o*s - pb + k*d:
//   max:     y = max over in-range i of x[i]  (-inf if none is in range)
//   average: y = (sum over in-range i of x[i]) / divisor, with the divisor as documented
//            in ops/pool.h (count_include_pad counts [-pb, D + counted_pads_end)).
// Works for 1, 2 and 3 spatial dims (lower ranks are treated as 3D with unit dims).
void ReferencePool(const PoolParams& p, const float* x, float* y);

}  // namespace qbench
