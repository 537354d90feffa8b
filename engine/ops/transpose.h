// Transpose (ONNX opsets 1-17): out.shape[k] = in.shape[perm[k]]. Any element type.
#pragma once

#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/ops/op_def.h"

namespace qbench {

struct TransposeParams {
  std::vector<int> perm;  // a permutation of [0, rank); default reversed dims
  Shape out;              // out[k] = in[perm[k]]
};

absl::StatusOr<TransposeParams> ParseTranspose(const Node& node, std::span<const TensorMeta> in);

}  // namespace qbench
