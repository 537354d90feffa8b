// Identity (1-17) and Dropout (7-17) in inference: output = input, any element type.
#pragma once

#include <span>

#include "absl/status/status.h"
#include "engine/ops/op_def.h"

namespace qbench {

// Checks that a Dropout node is an identity at inference time:
//  - its optional mask output (output 1) is not requested (NodeUnimplemented otherwise:
//    we do not model training-time dropout or its mask);
//  - its optional training_mode input (in[2], opset 12+) is absent or a constant false
//    (a constant true is NodeUnimplemented; a non-constant one is FailedPrecondition).
// The ratio (attribute before 12, input in[1] after) and seed only matter in training
// and are ignored.
absl::Status CheckDropoutInference(const Node& node, std::span<const TensorMeta> in);

}  // namespace qbench
