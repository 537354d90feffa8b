// Softmax (ONNX opsets 1-17): parameters shared by inference, the reference kernel and the
// oneDNN backend (softmax primitive over the middle axis of an [outer, axis, inner] view).
#pragma once

#include <span>

#include "absl/status/statusor.h"
#include "engine/ops/op_def.h"

namespace qbench {

// The input viewed as [outer, n, inner] and normalized along n:
//   y[o, i, j] = exp(x[o, i, j] - max_i x[o, :, j]) / sum_i exp(x[o, i, j] - max_i x[o, :, j])
// Opset >= 13: a single axis (default -1): outer = prod(dims[:axis]), n = dims[axis],
//   inner = prod(dims[axis+1:]).
// Opset < 13: the input is coerced to 2-D [prod(dims[:axis]), prod(dims[axis:])] (default
//   axis 1) and normalized along the second dim: n = prod(dims[axis:]), inner = 1.
// The opset comes from the node attribute "__opset" the importer sets (default 13).
struct SoftmaxParams {
  int axis;          // normalized axis into the input's rank
  bool coerce_2d;    // opset < 13 semantics
  int64_t outer;     // kDynamicDim when a contributing dim is dynamic
  int64_t n;         // the normalized extent
  int64_t inner;
};

absl::StatusOr<SoftmaxParams> ParseSoftmax(const Node& node, std::span<const TensorMeta> in);

}  // namespace qbench
