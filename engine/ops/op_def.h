// The op table: one OpDef per supported ONNX op, defined in its own file (ops/<op>.cc)
// and listed in op_table.cc. An op's definition gives the opsets and attributes we
// support, its shape/type inference, and its plain C++ reference kernel (the oracle
// every optimized kernel is tested against).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "engine/core/tensor.h"
#include "engine/graph/graph.h"

namespace qbench {

// What inference knows about one tensor: dtype, shape (dims may be kDynamicDim at import
// time; always concrete when a plan is built) and, for constants, the data itself.
struct TensorMeta {
  DType dtype = DType::kF32;
  Shape shape;
  const Tensor* value = nullptr;  // set when the tensor is a constant
  bool present = true;            // false for an omitted optional input
};

// Sets out[i].dtype and out[i].shape for every output. Returns
//  - FailedPrecondition when an input whose *value* is needed (Reshape's shape, ...)
//    is not constant yet: the importer defers, plan-time inference retries with constants;
//  - InvalidArgument naming the attribute or input when the node is malformed.
using InferFn = absl::Status (*)(const Node& node, std::span<const TensorMeta> in, std::span<TensorMeta> out);

// Computes the node's outputs from plain (row-major) inputs. `out` holds tensors already
// allocated with the inferred dtype and shape. Post-ops are applied by the caller.
using ReferenceFn = absl::Status (*)(const Node& node, std::span<const Tensor> in, std::span<Tensor> out);

struct AttrSpec {
  std::string_view name;
};

struct OpDef {
  std::string_view op_type;
  int min_opset;  // oldest ai.onnx opset whose semantics we implement
  int max_opset;  // newest (17 = the newest libonnx 1.12 knows)
  std::span<const AttrSpec> attributes;  // every attribute we understand; others are rejected
  int min_inputs, max_inputs;
  InferFn infer;
  ReferenceFn reference;
  // Values an attribute may take, checked at import ("auto_pad" in {"NOTSET",...}).
  // Optional; nullptr when the infer function checks everything.
  absl::Status (*validate)(const Node& node, int opset) = nullptr;
};

// Looks up an op; nullptr if the op is not supported at all.
const OpDef* FindOp(std::string_view op_type);
// All ops, in table order (for reports and the backend-test table).
std::span<const OpDef* const> AllOps();

// Runs infer then allocates outputs and runs the reference kernel (constant folding and
// the reference executor share this).
absl::Status RunReference(const OpDef& def, const Node& node, std::span<const Tensor> in,
                          std::vector<Tensor>* out);

// Applies node.post_ops to dst in place (reference semantics); `sums` holds the tensors of
// the Sum post-ops, in order.
absl::Status ApplyPostOpsReference(const Node& node, Tensor* dst, std::span<const Tensor> sums);

}  // namespace qbench
