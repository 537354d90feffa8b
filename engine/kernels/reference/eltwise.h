// Scalar activation functions, one table row per ONNX activation. Used by the reference
// kernels, by fused post-ops, and (through `onednn_alg`) to map onto oneDNN eltwise.
#pragma once

#include <string_view>

namespace qbench {

struct EltwiseDef {
  std::string_view op_type;
  // y = fn(x, alpha, beta); alpha/beta are the ONNX attributes (Clip: min, max).
  float (*fn)(float x, float alpha, float beta);
  float default_alpha;
  float default_beta;
};

const EltwiseDef* FindEltwise(std::string_view op_type);

}  // namespace qbench
