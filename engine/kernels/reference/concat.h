// Reference concatenation: block copies, any element type.
#pragma once

#include <span>

#include "engine/core/tensor.h"
#include "engine/ops/concat.h"

namespace qbench {

// Viewing every tensor as [outer, dim(axis), inner] with outer = prod(dims before axis)
// and inner = prod(dims after axis), dst[o, :, :] is src_0[o, :, :], src_1[o, :, :], ...
// one after the other along the middle dim.
void ReferenceConcat(const ConcatParams& p, std::span<const Tensor> srcs, Tensor* dst);

}  // namespace qbench
