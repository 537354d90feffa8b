// Graph passes. Each lives in its own file; Optimize() runs them in the order that lets
// later fusions see the results of earlier folds.
#pragma once

#include <map>

#include "absl/status/status.h"
#include "engine/graph/graph.h"

namespace qbench {

// Shape/type inference in node order, folding every node whose inputs are all constant
// (and Shape of a statically shaped tensor) by running its reference kernel. At import
// the batch may be dynamic: a node whose inference needs a value that is not constant
// yet keeps unknown output shapes. With `input_shapes` (value id -> concrete shape) it
// specializes the graph for one run shape, and then every shape must resolve.
// With `keep_int8_dequantize`, a DequantizeLinear of an int8/uint8 constant (quantized
// weights) is not folded, so the QDQ lowering can still hand the integers to a kernel.
absl::Status PropagateAndFold(Graph& g, const std::map<int, Shape>* input_shapes = nullptr,
                              bool keep_int8_dequantize = false);

// Identity and inference-mode Dropout become plain wires.
absl::Status RemoveIdentities(Graph& g);

// Conv -> BatchNormalization (constant statistics): W' = W * m[oc], B' = (B - mean) * m + beta
// where m = scale / sqrt(var + eps). Likewise Conv -> Add(per-channel constant) -> bias.
// MatMul(x[M,K], W const[K,N]) -> Gemm; Gemm -> Add(constant [N]) -> Gemm bias.
absl::Status FoldLinearConstants(Graph& g);

// Conv/Gemm/MatMul followed by an activation that is the only reader of its output:
// the activation becomes a post-op. Conv followed by Add(conv_out, residual) with equal
// shapes: the Add becomes a Sum post-op (then a following Relu fuses as well).
absl::Status FuseEltwise(Graph& g);

// Ops that move or select values without arithmetic on them (MaxPool, AveragePool,
// GlobalAveragePool, Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Concat): on
// integers they give exactly the quantized result of the float op when output and input
// share parameters (AveragePool rounds its mean once, as a QDQ graph does). The quantizer
// quantizes them and the lowering runs them on integers.
bool IsIntegerMover(const std::string& op_type);

// DequantizeLinear -> Conv/Gemm/mover -> QuantizeLinear chains become integer nodes
// (Node::quant) for the oneDNN backend; see lower_qdq.cc. A Conv/Gemm whose weights do
// not fit the signed `exact_weight_bits` grid the integer kernels compute exactly on
// this CPU (Int8ExactWeightBits: 7 without VNNI) stays in float.
absl::Status LowerQdq(Graph& g, int exact_weight_bits = 8);

// All of the above, in order. `fuse` off keeps one node per ONNX op (for testing).
absl::Status Optimize(Graph& g, bool fuse = true);

}  // namespace qbench
