// The engine's graph IR: values (tensors, with static or dynamic shapes and optional
// constant data) connected by nodes (ONNX ops, possibly carrying fused post-ops).
//
// The IR is deliberately close to ONNX so one ONNX node maps to one Node, and passes
// (BN folding, fusion, constant folding) rewrite it in place. Quantization later adds
// per-value quantization parameters and per-node precision without changing this shape.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/quant_params.h"
#include "engine/core/tensor.h"
#include "engine/graph/attributes.h"

namespace qbench {

struct Value {
  std::string name;
  DType dtype = DType::kF32;
  Shape shape;                     // may hold kDynamicDim; empty with has_shape=false if unknown
  bool has_shape = false;
  std::optional<Tensor> constant;  // initializer, Constant node output, or folded result
  int producer = -1;               // index of the producing node, -1 for inputs/constants
};

// An elementwise operation fused after a node's main computation (applied in order).
// kind names an ONNX activation ("Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh",
// "HardSigmoid", "HardSwish") or "Sum": dst += value `sum_input` (a residual add).
struct PostOp {
  std::string kind;
  float alpha = 0.f;   // Clip min, LeakyRelu alpha, HardSigmoid alpha
  float beta = 0.f;    // Clip max, HardSigmoid beta
  int sum_input = -1;  // for "Sum": the value id added to the output
  std::string from_node;  // the name of the ONNX node this was fused from (for reports)
};

// Set by the QDQ lowering (passes/lower_qdq.cc) on a node that runs on integers: which
// inputs arrive quantized (with their parameters; weights are int8 constants), whether
// the output is produced quantized (else float32), and the Sum post-op residual's
// parameters when it is read quantized.
struct NodeQuant {
  std::vector<std::optional<QuantParams>> inputs;  // one per node input
  std::optional<QuantParams> output;
  std::optional<QuantParams> sum;
  // Dynamic activations: input 0's scale (f32 scalar) and zero point (u8 scalar) are
  // runtime values (DynamicQuantizeLinear's outputs), read after the node's inputs and
  // Sum residuals; inputs[0] then only gives the storage type.
  int dynamic_scale = -1, dynamic_zero_point = -1;
  bool dynamic() const { return dynamic_scale >= 0; }
};

struct Node {
  std::string name;      // ONNX node name; importer fills "<op_type>_<index>" when empty
  std::string op_type;
  std::vector<int> inputs;   // value ids; -1 marks an omitted optional input
  std::vector<int> outputs;  // value ids
  Attributes attrs;
  std::vector<PostOp> post_ops;
  std::optional<NodeQuant> quant;  // integer execution (oneDNN backend, after lowering)
  bool removed = false;  // set by passes; Graph::Compact() drops removed nodes
};

class Graph {
 public:
  int64_t opset = 0;        // ai.onnx opset of the model
  int64_t ir_version = 0;
  std::string name;
  std::vector<Value> values;
  std::vector<Node> nodes;  // topologically sorted (the importer checks)
  std::vector<int> inputs;  // runtime inputs (initializers excluded)
  std::vector<int> outputs;

  int AddValue(Value v);
  // A new constant value holding `t` (dtype and shape from the tensor).
  int AddConstant(const std::string& name, Tensor t);
  int FindValue(const std::string& name) const;  // -1 if absent
  // Node ids reading value `v` (in node order), including reads through Sum post-ops.
  std::vector<int> Consumers(int v) const;
  bool IsGraphOutput(int v) const;
  // Drops removed nodes, renumbers producers. Values are kept (ids stay valid).
  void Compact();
  // Recomputes Value::producer from the node list.
  void RebuildProducers();
  // Number of live (not removed) nodes with this op type.
  int CountOps(const std::string& op_type) const;
};

}  // namespace qbench
