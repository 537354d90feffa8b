// Gather (ONNX opsets 1-17): takes slices of data along `axis` at the given indices.
// Any data element type (it picks dims out of int64 Shape outputs in constant folding);
// int32 or int64 indices, negative ones counting from the end (opset 11+, accepted always).
#pragma once

#include <span>

#include "absl/status/statusor.h"
#include "engine/ops/op_def.h"

namespace qbench {

struct GatherParams {
  int axis;   // normalized into [0, rank(data)); attribute default 0
  Shape out;  // data[:axis] + indices.shape + data[axis+1:]
};

// data: in[0] (rank >= 1), indices: in[1] (int32/int64, any rank; rank 0 drops the axis).
// When indices are constant and dim(axis) known, they are checked against [-d, d-1] here;
// otherwise the reference kernel checks them.
absl::StatusOr<GatherParams> ParseGather(const Node& node, std::span<const TensorMeta> in);

}  // namespace qbench
