// Pooling (ONNX MaxPool, AveragePool and GlobalAveragePool, opsets 1-17) over 1, 2
// or 3 spatial dims: parameters shared by inference, the reference kernel and the oneDNN
// backend (pooling_max / pooling_avg_{include,exclude}_padding).
#pragma once

#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/ops/op_def.h"
#include "engine/ops/window.h"

namespace qbench {

enum class PoolKind { kMax, kAverage };

struct PoolParams {
  PoolKind kind;
  bool global;          // GlobalAveragePool: one window covering all of D1..Dk
  int64_t batch;        // N (kDynamicDim at import time)
  int64_t channels;     // C
  std::vector<int64_t> in_spatial;  // D1..Dk
  // Kernel, strides, dilations (MaxPool only; 1 otherwise), pads and output sizes.
  // pads_end includes the extra end padding that ceil_mode adds so the last window fits.
  Window window;
  // AveragePool: whether padded positions count in the divisor (count_include_pad = 1).
  bool count_include_pad;
  // The end pads that count_include_pad counts: the explicit or auto_pad ones, *without*
  // ceil_mode's extra end padding (see the divisor rule below). Equals window.pads_end
  // unless ceil_mode grew it; a oneDNN avg_include_padding kernel matches the reference
  // only when they are equal.
  std::vector<int64_t> counted_pads_end;
};

// X: [N, C, D1..Dk] with k in 1..3. Y: [N, C, O1..Ok].
//   MaxPool:     Y = max over the window; padded positions are -inf (never chosen).
//   AveragePool: Y = sum of the window's in-range elements / divisor, where the divisor is
//     count_include_pad = 0: the number of window positions inside X (pads excluded);
//     count_include_pad = 1: the number of window positions inside [-pads_begin,
//       D + counted_pads_end), i.e. explicit/auto pads count but the extra end padding
//       introduced by ceil_mode does not (as ONNX Runtime and PyTorch compute it).
//   A window with no position inside X (only possible with pads >= kernel) yields -inf
//   for MaxPool and 0 for AveragePool.
//   GlobalAveragePool: Y[n, c, 1..1] = mean of X[n, c, ...].
// MaxPool's optional second output (Indices) is not implemented (Unimplemented).
absl::StatusOr<PoolParams> ParsePool(const Node& node, std::span<const TensorMeta> in);

}  // namespace qbench
