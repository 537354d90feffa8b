// QuantizeLinear, DequantizeLinear (opsets 10-17; per-axis from 13) and
// DynamicQuantizeLinear (11): the ops of ONNX's QDQ form, which is how the engine holds a
// quantized model. The reference backend runs them as written (the oracle); the oneDNN
// backend fuses DQ -> op -> Q chains into integer kernels (passes/lower_qdq.cc).
//
// Engine extension: QuantizeLinear may carry "__qmin"/"__qmax", a narrower grid inside
// the storage type (n-bit values held in 8 bits). Export writes it as a Clip before Q.
#pragma once

#include <span>

#include "absl/status/statusor.h"
#include "worker/engine/core/quant_params.h"
#include "worker/engine/ops/op_def.h"

namespace qbench {

// The parameters of a QuantizeLinear/DequantizeLinear node from its scale and zero
// point inputs (which must be constants) and attributes. `rank` is the rank of the
// quantized tensor (to normalize axis). FailedPrecondition when scale or zero point is
// not constant.
absl::StatusOr<QuantParams> QdqParams(const Node& node, std::span<const TensorMeta> in, int rank);

}  // namespace qbench
