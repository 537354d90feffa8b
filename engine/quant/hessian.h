// The input Hessian of a Conv or Gemm layer, the statistic that Hessian-guided and
// learned weight rounding (quant/rounding.h) need.
//
// A layer computes y = W x for every input row x: a Gemm's input rows, or a Conv's
// im2col patches (one per output position and sample, padding zeros included: the
// kernel sees them). Rounding W to W_q changes the outputs by (W_q - W) x, so over the
// calibration rows x_1..x_N the output error of output channel r is
//   sum_n ((w_q,r - w_r) . x_n)^2 = (w_q,r - w_r)^T H (w_q,r - w_r),   H = sum_n x_n x_n^T.
// H is all a rounding method needs of the data: it is accumulated batch by batch, so its
// memory is cols^2 per group whatever the number of samples. A grouped Conv has one H
// per group (each group reads its own input channels); a depthwise one has 9x9 H's.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/core/quant_params.h"
#include "engine/core/tensor.h"
#include "engine/data/dataset.h"
#include "engine/graph/graph.h"
#include "engine/runtime/session.h"

namespace qbench::quant {

// Columns of a weight row above which a layer is not given a Hessian (rounding keeps
// round-to-nearest there): the factorizations cost cols^3 and H takes cols^2 floats.
inline constexpr int64_t kMaxHessianColumns = 4608;  // 3x3 x 512 channels
// Memory for all of a model's Hessians together; later layers past it keep nearest.
inline constexpr int64_t kMaxHessianBytes = int64_t{1} << 30;

struct LayerHessian {
  int64_t groups = 1;
  int64_t cols = 0;       // inputs per output: a Gemm's K, a Conv's C/group x kernel taps
  std::vector<float> h;   // groups x cols x cols, row-major, symmetric
  int64_t rows = 0;       // input rows accumulated (per group)
  // With quantized inputs (AccumulateHessianPair): h is H~ = sum x~ x~^T over the inputs
  // x~ the quantized model feeds the layer, cross is C = sum x x~^T with x FP32's input on
  // the same sample, and h_fp32 is H = sum x x^T. Empty otherwise.
  std::vector<float> cross, h_fp32;
};

// The weight-row width and group count of a Conv or Gemm node whose weights are `w`
// (Conv {M, C/G, K...}; Gemm B {K, N} or, with transB, {N, K}).
struct LayerShape {
  int64_t groups = 1, cols = 0, rows = 0;  // rows: output channels in all
};
LayerShape ShapeOfLayer(const Node& node, const Tensor& w);

// Adds the rows of the layer's input batch `x` (plain float, as the observer sees it)
// into `h` (allocated on first use). Fails on an input the node cannot read.
absl::Status AccumulateHessian(const Node& node, const Tensor& w, const Tensor& x, LayerHessian* h);

// Adds the rows of the FP32 input `x` and of the quantized model's input `xq` to the same
// layer on the same samples: h += Xq^T Xq, cross += X^T Xq, h_fp32 += X^T X.
absl::Status AccumulateHessianPair(const Node& node, const Tensor& w, const Tensor& x, const Tensor& xq,
                                   LayerHessian* h);

// One streaming pass of the FP32 `session` over the samples `indices` of `dataset`,
// accumulating the Hessian of every Conv/Gemm node whose index is in `layers` and that
// fits the bounds above. Keyed by the node's first output value id.
struct HessianSet {
  std::map<int, LayerHessian> layers;
  std::map<int, std::string> skipped;  // output value id -> why it has none
  double seconds = 0;
};
absl::StatusOr<HessianSet> CollectHessians(Session& session, const data::Dataset& dataset,
                                           const std::vector<int64_t>& indices, int64_t batch_size,
                                           int loader_threads, const std::set<int>& layers);

// The same with quantized inputs: each batch runs through the FP32 `session` and through
// `quantized` (a model QuantizeGraph built from that session's graph, whose value ids it
// keeps); `twins` and `params` (QuantizedModel::twins, ::activations) turn the quantized
// model's integer input of each layer back into the real values its kernels read.
absl::StatusOr<HessianSet> CollectQuantizedInputHessians(Session& session, Session& quantized,
                                                         const std::map<int, int>& twins,
                                                         const std::map<int, QuantParams>& params,
                                                         const data::Dataset& dataset,
                                                         const std::vector<int64_t>& indices, int64_t batch_size,
                                                         int loader_threads, const std::set<int>& layers);

}  // namespace qbench::quant
