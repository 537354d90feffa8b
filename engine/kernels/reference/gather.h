// Reference Gather: block copies, any data element type.
#pragma once

#include "absl/status/status.h"
#include "engine/core/tensor.h"
#include "engine/graph/graph.h"
#include "engine/ops/gather.h"

namespace qbench {

// Viewing data as [outer, d, inner] (outer = prod(dims before axis), d = dim(axis),
// inner = prod(dims after axis)) and indices as a flat list idx[0..n):
//   dst[o, j, :] = data[o, idx[j] < 0 ? idx[j] + d : idx[j], :].
// Fails naming the node when an index is outside [-d, d-1].
absl::Status ReferenceGather(const Node& node, const GatherParams& p, const Tensor& data, const Tensor& indices,
                             Tensor* dst);

}  // namespace qbench
