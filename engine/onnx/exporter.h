// ONNX export: a Graph (typically a quantized model in QDQ form, quant/quantize_graph.h)
// becomes a ModelProto that ONNX Runtime and other ONNX tools load.
//
// The model declares IR version 7 and ai.onnx opset max(13, graph opset) (13: the first
// with per-axis QuantizeLinear/DequantizeLinear). The mapping:
//  - every live node becomes one ONNX node with its attributes, except the engine's own
//    ("__opset", "__qmin", ...); nodes imported at an older opset whose signature changed
//    by 13 are rewritten (Clip/Pad attributes and Squeeze/Unsqueeze axes become inputs,
//    Dropout becomes Identity);
//  - a node's fused post-ops become separate nodes after it, in order: Sum -> Add(out,
//    residual), activations -> their ONNX op (Clip with min/max as constant inputs);
//  - a QuantizeLinear on a narrow grid [qmin, qmax] inside int8 gets a Clip to
//    [(qmin - zp) * scale, (qmax - zp) * scale] in front, so round(x / scale) + zp lands
//    on exactly the n-bit grid without the engine-only attributes;
//  - constants read by live nodes become initializers (raw little-endian data); graph
//    inputs and outputs keep their names, dtypes and shapes (a dynamic dim 0 is the
//    dim_param "batch");
//  - with ExportOptions::int32_bias (default), QuantizeBiases below runs first.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/graph/graph.h"

namespace onnx {
class ModelProto;
}

namespace qbench {

inline constexpr int64_t kExportIrVersion = 7;
inline constexpr int64_t kExportMinOpset = 13;

struct BiasRewriteStats {
  int biases = 0;                // Conv/Gemm biases rewritten to int32
  double max_abs_error = 0;      // max over channels of |b - q * s_b| (same unit as b)
  double max_error_steps = 0;    // the same in units of s_b (<= 0.5 by construction)
};

struct ExportStats {
  int64_t opset = 0;
  int nodes = 0;              // ONNX nodes written
  int initializers = 0;
  int post_op_nodes = 0;      // nodes that unfused post-ops became
  int grid_clips = 0;         // Clips written in front of narrow QuantizeLinear nodes
  BiasRewriteStats bias;
};

struct ExportOptions {
  bool int32_bias = true;  // run QuantizeBiases on a copy of the graph first
  bool check = true;       // run onnx::checker::check_model on the result
};

// For every live Conv/Gemm whose weights are DequantizeLinear(int8 constant, constant
// scale s_w, per-channel or per-tensor) and whose input 0 is DequantizeLinear with a
// constant per-tensor scale s_x, the float32 bias b (1-D constant, one per output
// channel; Gemm with alpha = beta = 1) becomes
//     q[oc] = round_half_even(b[oc] / s_b[oc]),   s_b[oc] = s_x * s_w[oc]   (float32)
//     bias  = DequantizeLinear(q (int32), s_b, axis = 0)
// which ONNX Runtime's QDQ transformer fuses into QLinearConv / QGemm. The rounding moves
// each bias by at most s_b / 2 (reported in the stats); a node whose q would overflow
// int32 keeps its float bias. Returns an error only for a malformed graph.
absl::StatusOr<BiasRewriteStats> QuantizeBiases(Graph& g);

// Fills `model` (cleared first). Errors name the node or value that cannot be written.
absl::Status ExportOnnxModel(const Graph& g, onnx::ModelProto* model, const ExportOptions& options = {},
                             ExportStats* stats = nullptr);
absl::StatusOr<std::string> ExportOnnxBytes(const Graph& g, const ExportOptions& options = {},
                                            ExportStats* stats = nullptr);
absl::Status ExportOnnx(const Graph& g, const std::string& path, const ExportOptions& options = {},
                        ExportStats* stats = nullptr);

}  // namespace qbench
