// Cross-layer equalization (Nagel et al., "Data-Free Quantization", 2019) of Conv chains.
//
// For Conv A -> (ReLU or nothing) -> Conv B where B is A's only reader, scaling A's
// output channel c by 1/s_c and B's input channel c by s_c leaves the network's function
// unchanged (ReLU(x / s) = ReLU(x) / s for s > 0). Choosing s_c = sqrt(r1_c / r2_c),
// with r1_c the range of A's weights for output c and r2_c that of B's weights reading
// input c, gives both the same range sqrt(r1_c r2_c): per-tensor or low-bit grids then
// fit every channel about equally well. Depthwise B (one group per channel) qualifies;
// a residual (Sum post-op) or a clipping activation (ReLU6 is not scale-equivariant)
// on A does not. A few passes over the chain let equalization propagate.
#pragma once

#include "absl/status/statusor.h"
#include "engine/graph/graph.h"

namespace qbench::quant {

// Rewrites the weights and biases of `g` (an optimized graph) in place; returns the
// number of Conv pairs equalized.
absl::StatusOr<int> EqualizeConvChains(Graph& g, int passes = 4);

}  // namespace qbench::quant
