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
#include "engine/core/quant_params.h"
#include "engine/ops/op_def.h"

namespace qbench {

// The parameters of a QuantizeLinear/DequantizeLinear node from its scale and zero
// point inputs (which must be constants) and attributes. `rank` is the rank of the
// quantized tensor (to normalize axis). FailedPrecondition when scale or zero point is
// not constant.
absl::StatusOr<QuantParams> QdqParams(const Node& node, std::span<const TensorMeta> in, int rank);

// real = scale * (q - zero_point) for an s8/u8/s32 tensor, per tensor or along p.axis.
Tensor DequantizeWith(const Tensor& q, const QuantParams& p);
// q = clamp(round_half_even(x / scale) + zero_point, qmin, qmax) into out (p.dtype, x's shape).
void QuantizeInto(const Tensor& x, const QuantParams& p, Tensor* out);

}  // namespace qbench
