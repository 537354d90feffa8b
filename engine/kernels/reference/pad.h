// Reference padding: per output element, map to an input coordinate; any element type.
#pragma once

#include "engine/core/tensor.h"
#include "engine/ops/pad.h"

namespace qbench {

// For each output coordinate o and axis k, c_k = o_k - begin[k] is the input coordinate;
// when c_k is outside [0, d_k):
//   constant: the element is p.value;
//   reflect:  c = -c below 0, c = 2 (d - 1) - c above (mirror, edge not repeated);
//   edge:     c = clamp(c, 0, d - 1).
void ReferencePad(const PadParams& p, const Tensor& src, Tensor* dst);

}  // namespace qbench
