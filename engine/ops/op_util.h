// Helpers shared by op definitions: attribute checks, broadcasting, axis normalization.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/core/shape.h"
#include "engine/graph/graph.h"
#include "engine/ops/op_def.h"

namespace qbench {

// "node \"conv1\" (Conv): " — prefix for every error about a node.
std::string NodeContext(const Node& node);
absl::Status NodeError(const Node& node, const std::string& message);  // InvalidArgument
absl::Status NodeUnimplemented(const Node& node, const std::string& message);

// Normalizes a possibly negative axis into [0, rank); error names the node and value.
absl::StatusOr<int> NormalizeAxis(const Node& node, int64_t axis, int rank);

// Numpy-style multidirectional broadcast of two shapes (dynamic dims propagate).
absl::StatusOr<Shape> BroadcastShapes(const Node& node, const Shape& a, const Shape& b);

// Reads an int64 (or int32) constant tensor as a vector; FailedPrecondition if not constant.
absl::StatusOr<std::vector<int64_t>> ConstantInts(const Node& node, const TensorMeta& meta,
                                                  const char* what);

// Bytes of a tensor of `dtype` and `shape`, or -1 when a dim is dynamic or negative or
// the product overflows int64 (checked before it can wrap).
int64_t CheckedBytes(DType dtype, const Shape& shape);

// Requires input i to be present and float32.
absl::Status RequireFloat(const Node& node, std::span<const TensorMeta> in, int i);

}  // namespace qbench
