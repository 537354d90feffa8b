#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/ops/op_def.h"
#include "engine/ops/op_util.h"
#include "engine/passes/passes.h"

namespace qbench {
namespace {

bool AllInputsConstant(const Graph& g, const Node& n) {
  for (int v : n.inputs)
    if (v >= 0 && !g.values[v].constant) return false;
  for (const PostOp& p : n.post_ops)
    if (p.sum_input >= 0 && !g.values[p.sum_input].constant) return false;
  return true;
}

absl::Status Fold(Graph& g, Node& n, const OpDef& def) {
  std::vector<Tensor> in;
  for (int v : n.inputs) in.push_back(v >= 0 ? *g.values[v].constant : Tensor());
  for (const PostOp& p : n.post_ops)
    if (p.sum_input >= 0) in.push_back(*g.values[p.sum_input].constant);
  std::vector<Tensor> out;
  QB_RETURN_IF_ERROR(RunReference(def, n, in, &out));
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    if (n.outputs[i] < 0) continue;
    Value& v = g.values[n.outputs[i]];
    v.dtype = out[i].dtype();
    v.shape = out[i].shape();
    v.has_shape = true;
    v.constant = std::move(out[i]);
    v.producer = -1;
  }
  n.removed = true;
  return absl::OkStatus();
}

}  // namespace

absl::Status PropagateAndFold(Graph& g, const std::map<int, Shape>* input_shapes, bool keep_int8_dequantize) {
  const bool specialize = input_shapes != nullptr;
  if (specialize)
    for (const auto& [id, shape] : *input_shapes) {
      g.values[id].shape = shape;
      g.values[id].has_shape = true;
    }
  for (Node& n : g.nodes) {
    if (n.removed) continue;
    const OpDef* def = FindOp(n.op_type);
    if (def == nullptr) return NodeUnimplemented(n, "op is not supported");
    const bool keep = keep_int8_dequantize && n.op_type == "DequantizeLinear" &&
                      (g.values[n.inputs[0]].dtype == DType::kS8 || g.values[n.inputs[0]].dtype == DType::kU8);
    if (!keep && AllInputsConstant(g, n)) {
      QB_RETURN_IF_ERROR(Fold(g, n, *def));
      continue;
    }
    std::vector<TensorMeta> in(n.inputs.size());
    bool known = true;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i] < 0) {
        in[i].present = false;
        continue;
      }
      const Value& v = g.values[n.inputs[i]];
      known &= v.has_shape;
      in[i] = {v.dtype, v.shape, v.constant ? &*v.constant : nullptr, true};
      // A lowered integer node: its quantized inputs follow the float op's shape rules.
      if (n.quant && i < n.quant->inputs.size() && n.quant->inputs[i]) in[i] = {DType::kF32, v.shape, nullptr, true};
    }
    if (n.op_type == "Shape" && known && IsStatic(in[0].shape)) {
      // Shape of a tensor whose shape is known: a constant, whatever the data. The
      // reference kernel reads only the input's shape (start/end handled there).
      std::vector<Tensor> out;
      Tensor shape_in(in[0].dtype, in[0].shape);
      QB_RETURN_IF_ERROR(RunReference(*def, n, std::span(&shape_in, 1), &out));
      Value& v = g.values[n.outputs[0]];
      v.dtype = DType::kS64;
      v.shape = out[0].shape();
      v.has_shape = true;
      v.constant = std::move(out[0]);
      v.producer = -1;
      n.removed = true;
      continue;
    }
    if (!known) {
      if (specialize) return NodeError(n, "an input has no known shape");
      for (int o : n.outputs)
        if (o >= 0) g.values[o].has_shape = false;
      continue;
    }
    std::vector<TensorMeta> out(n.outputs.size());
    absl::Status s = def->infer(n, in, out);
    if (absl::IsFailedPrecondition(s) && !specialize) {
      for (int o : n.outputs)
        if (o >= 0) g.values[o].has_shape = false;
      continue;
    }
    QB_RETURN_IF_ERROR(s);
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      if (n.outputs[i] < 0) continue;
      Value& v = g.values[n.outputs[i]];
      v.dtype = i == 0 && n.quant && n.quant->output ? n.quant->output->dtype : out[i].dtype;
      v.shape = out[i].shape;
      v.has_shape = true;
    }
  }
  g.Compact();
  return absl::OkStatus();
}

}  // namespace qbench
