// Bias handling of a quantized Conv/Gemm, applied by QuantizeGraph:
//
//  - Bias correction (optional, "bias_correction": true): quantizing the weights moves
//    each output's mean by E[conv(x, W_q - W)] = sum_k (W_q - W)[c, k] * E[x_k] (the
//    spatial kernel taps of an input channel all see that channel's mean, padding aside).
//    The per-channel input means E[x_k] come from the calibration pass; the bias gets
//    the opposite shift, so the layer's output mean is what FP32's was.
//  - Integer bias: integer runtimes (ONNX Runtime's QLinearConv, TFLite, oneDNN's s32
//    accumulator) hold the bias as b_q = round(b / (s_x s_w[c])) in int32. The bias is set
//    to b_q * s_x * s_w[c], so the engine measures exactly what such a runtime computes
//    and the QDQ export's int32 bias is the same number.
#pragma once

#include <vector>

#include "absl/status/status.h"
#include "engine/core/quant_params.h"
#include "engine/core/tensor.h"

namespace qbench::quant {

// Shift for each output channel: -sum_k (wq_real - w)[c, k] * mean_x[k]. `w` and
// `wq_real` (the dequantized weights) have the layer's weight layout: Conv {OC, IC/G,
// K...} with `group`, or Gemm B ({K, N}, or {N, K} with trans_b).
std::vector<double> BiasCorrection(const Tensor& w, const Tensor& wq_real, const std::vector<double>& mean_x,
                                   bool is_gemm, bool trans_b, int64_t group);

// Rounds each bias[c] onto the int32 grid of scale s_x * s_w[c]; fails (naming `what`)
// when a value does not fit in int32.
absl::Status RoundBiasToInt32(Tensor* bias, float s_x, const QuantParams& weights, const std::string& what);

}  // namespace qbench::quant
