// BatchNormalization (ONNX opsets 6-17), inference mode only: parameters shared by
// inference, the reference kernel and the oneDNN backend, plus the per-channel affine
// form the BN-folding pass uses to fold a BatchNormalization into the preceding Conv/Gemm.
#pragma once

#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/ops/op_def.h"

namespace qbench {

// Y[n, c, ...] = scale[c] * (X[n, c, ...] - mean[c]) / sqrt(var[c] + epsilon) + B[c]
// with X: [N, C, D1..Dk] (k >= 0) and scale, B, mean, var: [C] (the running statistics).
struct BatchNormParams {
  int64_t batch;     // N (kDynamicDim at import time)
  int64_t channels;  // C
  int64_t spatial;   // D1 * ... * Dk (1 for a 2-D X); kDynamicDim if any is unknown
  float epsilon;     // default 1e-5
  float momentum;    // read but unused: it only updates running statistics in training
};

// Validates the node (inference mode, per-channel statistics) and the input shapes.
//  - training_mode = 1 (opset 14+), is_test = 0 (opset 6, read from the node attribute
//    "__opset"; absent means 17) or extra outputs (running/saved mean and var, which only
//    training produces) -> Unimplemented;
//  - spatial = 0 (opsets 6-8: statistics per channel *and* position) -> Unimplemented.
absl::StatusOr<BatchNormParams> ParseBatchNorm(const Node& node, std::span<const TensorMeta> in);

// The normalization as a per-channel affine map y = multiplier[c] * x + shift[c]:
//   multiplier = scale / sqrt(var + epsilon),  shift = B - mean * multiplier
// (computed in double, rounded once to float).
struct BatchNormAffine {
  std::vector<float> multiplier;
  std::vector<float> shift;
};

// For the BN-folding pass: the affine form from the node's constant inputs scale, B, mean
// and var (inputs 1-4), checking the node's attributes as ParseBatchNorm does and that the
// four tensors are float32 of one shape [C].
absl::StatusOr<BatchNormAffine> BatchNormFoldFactors(const Node& node, const Tensor& scale, const Tensor& bias,
                                                     const Tensor& mean, const Tensor& var);

}  // namespace qbench
