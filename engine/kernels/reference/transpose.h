// Reference transpose: a strided copy, any element type.
#pragma once

#include "engine/core/tensor.h"
#include "engine/ops/transpose.h"

namespace qbench {

// dst[o_0, ..., o_{r-1}] = src[i] with i[perm[k]] = o_k, i.e. walking dst row-major and
// reading src with strides src_stride[perm[k]]. Elements are copied as SizeOf(dtype) bytes.
void ReferenceTranspose(const TransposeParams& p, const Tensor& src, Tensor* dst);

}  // namespace qbench
