// Activation parameters shared by the reference kernel, fusion and the oneDNN backend.
#pragma once

#include <span>

#include "absl/status/statusor.h"
#include "engine/graph/graph.h"
#include "engine/kernels/reference/eltwise.h"
#include "engine/ops/op_def.h"

namespace qbench {

struct ActivationParams {
  const EltwiseDef* def;
  float alpha;  // Clip: min; LeakyRelu/HardSigmoid: alpha
  float beta;   // Clip: max; HardSigmoid: beta
};

// Reads the attributes (and for Clip >= 11, the constant min/max inputs).
absl::StatusOr<ActivationParams> ParseActivation(const Node& node, std::span<const TensorMeta> in);

}  // namespace qbench
