// The ops whose output does not depend on any input *data*: Constant (its attribute) and
// Shape (its input's dims). The importer folds both into constants through their
// reference kernels (Shape once its input's shape is static).
#pragma once

#include <span>

#include "absl/status/statusor.h"
#include "engine/ops/op_def.h"

namespace qbench {

// Constant (1-17): exactly one of
//   value (tensor), value_float (-> f32 scalar), value_floats (-> f32 1-D),
//   value_int (-> s64 scalar), value_ints (-> s64 1-D)          (all but value: opset 12+).
// value_string, value_strings and sparse_value are NodeUnimplemented.
absl::StatusOr<Tensor> ParseConstant(const Node& node);

// Shape (1-17): the dims in[0].shape[start:end] as an int64 1-D tensor. start (default 0)
// and end (default rank) are opset 15 attributes; negatives count from the back, and both
// are then clamped into [0, rank] (an empty result when start >= end).
struct ShapeSlice {
  int start;
  int end;  // >= start
};
absl::StatusOr<ShapeSlice> ParseShape(const Node& node, std::span<const TensorMeta> in);

}  // namespace qbench
