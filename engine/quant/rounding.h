// Weight rounding: how a layer's float weights become integers once their scales are
// chosen (docs/quantization.md section 7d derives each method).
//
//  - nearest: q = clamp(round(w / s) + z), each weight alone (QuantizeWeights).
//  - gptq: the GPTQ/OBQ class. Columns (inputs) are rounded one at a time, and the error
//    each makes is fed back into the columns not yet rounded, weighted by the input
//    Hessian H so that the layer's *output* error stays least (quant/gptq.cc).
//  - adaround: a soft rounding variable per weight chooses floor or ceil; it is learned
//    by gradient descent on the layer's output error over the calibration inputs plus a
//    regularizer annealed until every variable is 0 or 1 (quant/adaround.cc).
//  - block: the block-wise reconstruction of BRECQ/QDrop; named so that specs stay
//    portable, refused until it is built.
//
// The scales and zero points stay those of the weight range method: only the integer
// each weight rounds to changes, so the result is the same integer model, runs on the
// same kernels at the same speed, and its QDQ export carries it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/core/tensor.h"
#include "engine/quant/qparams.h"

namespace qbench {
struct Node;
}

namespace qbench::quant {

struct LayerHessian;  // quant/hessian.h

// One output group's rounding problem: `rows` weight rows of `cols` inputs (row-major),
// each row with its own scale and zero point on [qmin, qmax], and the group's H (cols x
// cols, summed over `samples` input rows).
struct RoundingProblem {
  int64_t rows = 0, cols = 0;
  const float* w = nullptr;
  const float* h = nullptr;
  int64_t samples = 1;
  const float* scale = nullptr;       // per row
  const int32_t* zero_point = nullptr;  // per row
  int32_t qmin = -128, qmax = 127;
};

// Each writes rows x cols integers into q. They fail only on a numerical breakdown that
// damping could not repair; the caller then keeps nearest rounding and says so.
absl::Status GptqRound(const RoundingProblem& p, const RoundingOptions& o, int32_t* q);
absl::Status AdaroundRound(const RoundingProblem& p, const RoundingOptions& o, int32_t* q);
void NearestRound(const RoundingProblem& p, int32_t* q);

// In-place lower Cholesky factor of the n x n row-major symmetric a (a = L L^T; the upper
// triangle is left as it was). False when a is not positive definite (gptq.cc).
bool CholeskyLower(std::vector<double>& a, int64_t n);

// tr((W_q - W) H (W_q - W)^T): the summed squared output error over the calibration rows.
double OutputError(const RoundingProblem& p, const int32_t* q);
// tr(W H W^T): the summed squared output over the same rows (the signal).
double OutputEnergy(const RoundingProblem& p);

struct RoundingReport {
  Rounding method = Rounding::kNearest;  // what ran (nearest when the layer fell back)
  double seconds = 0;
  // Output SQNR of the layer on the calibration inputs, 10 log10(tr(W H W^T) /
  // tr(dW H dW^T)), for the rounding that ran and for round-to-nearest.
  double sqnr_db = 0, nearest_sqnr_db = 0;
  std::string note;  // why a layer kept nearest rounding
};

// Re-rounds `qw` (from QuantizeWeights, its scales kept) of a Conv/Gemm `node` with
// float weights `w`, using the layer's Hessian.
absl::StatusOr<RoundingReport> RoundLayerWeights(const Node& node, const Tensor& w, const LayerHessian& h,
                                                 const RoundingOptions& o, QuantizedWeights* qw);

}  // namespace qbench::quant
