// Builds the quantized model of a configuration: the optimized FP32 graph rewritten into
// ONNX's QDQ form.
//
//  - Compute layers (Conv, Gemm with constant weights) get their weights as
//    DequantizeLinear(int8 constant, per-channel scales) and their activation inputs
//    (and the residual of a fused Sum) behind QuantizeLinear -> DequantizeLinear.
//  - Data movers (MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape, Squeeze,
//    Unsqueeze, Transpose, Concat) fed by a quantized layer are quantized too; they
//    share their input's parameters (a Concat's inputs share one set), so they run on
//    integers exactly.
//  - Layers overridden to fp32 and every other op stay in float, reading dequantized
//    values.
//
// The reference backend runs this graph as written (the oracle); the oneDNN backend
// lowers each DQ -> layer -> Q chain to an integer primitive (passes/lower_qdq.cc);
// export writes it as an ONNX QDQ model. Value ids of the input graph are kept.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/graph/graph.h"
#include "spec/quant_config.h"
#include "engine/quant/hessian.h"
#include "engine/quant/histogram.h"

namespace qbench::quant {

struct LayerReport {
  std::string node, op_type;
  bool quantized = false;       // false: kept in float (override or unsupported)
  std::string reason;           // why it stayed in float
  int weight_bits = 0, activation_bits = 0;
  int output_value = -1;        // value id of the layer's output (for per-layer SQNR)
  int64_t weight_elements = 0;
  double weight_entropy_bits = 0;  // EntropyBits of the integer weights (qparams.h)
  // Weight rounding (quant/rounding.h): the method that ran, its time, and the layer's
  // output SQNR on the calibration inputs with it and with round-to-nearest (0 when no
  // Hessian was collected).
  Rounding rounding = Rounding::kNearest;
  double rounding_seconds = 0, rounding_sqnr_db = 0, nearest_sqnr_db = 0;
  std::string rounding_note;
};

struct QuantizedModel {
  Graph graph;
  std::vector<LayerReport> layers;
  std::map<int, QuantParams> activations;  // value id -> parameters
  std::map<int, int> twins;                // quantized value id -> the float value it holds
  int64_t packed_bytes = 0;  // weights at their bit width, scales, zero points, float rest
};

// Rounded weights by layer output value id, kept across the QuantizeGraph calls of one
// configuration: sequential rounding (quantized inputs) builds the model once per step,
// and a layer rounded in an earlier step is not rounded again.
struct RoundedLayer {
  Tensor q;
  LayerReport report;
};
using RoundingCache = std::map<int, RoundedLayer>;

// `fp32` is an optimized graph (Session::graph()); `histograms` come from Calibrate on
// that graph (unused for dynamic activations).
// `channel_means` (value id -> mean per channel of axis 1, from calibration) is needed
// for bias correction only; `hessians` (CollectHessians on that graph) for rounding
// methods that read them.
absl::StatusOr<QuantizedModel> QuantizeGraph(const Graph& fp32, const QuantConfig& config,
                                             const std::map<int, Histogram>& histograms,
                                             const std::map<int, std::vector<double>>* channel_means = nullptr,
                                             const HessianSet* hessians = nullptr, RoundingCache* cache = nullptr);

// SHA-256 of every quantization parameter of the model (activation and weight scales and
// zero points, and the quantized weights themselves): equal hashes mean bit-identical
// quantization. Recorded with each result so reruns can be compared.
std::string ParamsSha256(const QuantizedModel& m);

// Bytes of the float model's constants (the FP32 size the quantized size compares to).
int64_t FloatModelBytes(const Graph& g);

}  // namespace qbench::quant
