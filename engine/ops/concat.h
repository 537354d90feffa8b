// Concat (ONNX opsets 4-17): joins inputs of one element type along `axis`; all other
// dims must agree. Any element type (it joins int64 shape vectors in constant folding).
#pragma once

#include <span>

#include "absl/status/statusor.h"
#include "engine/ops/op_def.h"

namespace qbench {

struct ConcatParams {
  int axis;     // normalized into [0, rank); attribute required since opset 4, negative from 11
  DType dtype;  // of every input and the output
  Shape out;    // inputs' dims, out[axis] = sum of the inputs' dims along axis
};

absl::StatusOr<ConcatParams> ParseConcat(const Node& node, std::span<const TensorMeta> in);

}  // namespace qbench
