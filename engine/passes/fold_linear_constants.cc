// Folds constant affine ops into the preceding Conv/Gemm weights and bias, and turns
// MatMul by a constant 2D matrix into Gemm (so it runs as one oneDNN inner product).
#include <cmath>

#include "common/status.h"
#include "engine/passes/passes.h"
#include "engine/passes/rewrite_util.h"

namespace qbench {
namespace {

// The per-output-channel bias of a Conv/Gemm (zeros when it has none), as a new tensor.
Tensor BiasOf(const Graph& g, const Node& n, int64_t channels) {
  const Tensor* b = ConstantInput(g, n, 2);
  return b ? b->Clone() : Tensor(DType::kF32, {channels});
}

// Conv -> BatchNormalization with constant statistics. For each output channel c:
//   m = scale[c] / sqrt(var[c] + eps);  W'[c] = W[c] * m;  B'[c] = (B[c] - mean[c]) * m + beta[c]
bool FoldBatchNorm(Graph& g, Node& conv) {
  const Tensor* w = ConstantInput(g, conv, 1);
  if (w == nullptr || w->dtype() != DType::kF32) return false;
  const int next = SoleConsumer(g, conv.outputs[0]);
  if (next < 0) return false;
  Node& bn = g.nodes[next];
  if (bn.op_type != "BatchNormalization" || bn.outputs.size() != 1 || bn.inputs[0] != conv.outputs[0]) return false;
  if (bn.attrs.GetInt("training_mode", 0).value_or(1) != 0) return false;
  const int64_t oc = w->dim(0);
  const Tensor* p[4];
  for (int i = 0; i < 4; ++i) {
    p[i] = ConstantInput(g, bn, i + 1);
    if (p[i] == nullptr || p[i]->dtype() != DType::kF32 || p[i]->num_elements() != oc) return false;
  }
  const float eps = bn.attrs.GetFloat("epsilon", 1e-5f).value_or(1e-5f);
  Tensor w2 = w->Clone();
  Tensor b2 = BiasOf(g, conv, oc);
  const int64_t per_oc = w->num_elements() / oc;
  for (int64_t c = 0; c < oc; ++c) {
    const double m = p[0]->data<float>()[c] / std::sqrt(static_cast<double>(p[3]->data<float>()[c]) + eps);
    for (int64_t i = 0; i < per_oc; ++i) w2.data<float>()[c * per_oc + i] *= static_cast<float>(m);
    b2.data<float>()[c] = static_cast<float>((b2.data<float>()[c] - p[2]->data<float>()[c]) * m + p[1]->data<float>()[c]);
  }
  conv.inputs.resize(3);
  conv.inputs[1] = g.AddConstant(conv.name + ".W_bn_folded", std::move(w2));
  conv.inputs[2] = g.AddConstant(conv.name + ".B_bn_folded", std::move(b2));
  conv.outputs[0] = bn.outputs[0];
  bn.removed = true;
  return true;
}

// Conv -> Add(c) where c is constant and constant along everything but the channel axis
// (shape [M,1,1], [1,M,1,1], [1] ...): c joins the bias. Gemm -> Add(c[N] or [1,N]) likewise.
bool FoldBiasAdd(Graph& g, Node& n) {
  const int next = SoleConsumer(g, n.outputs[0]);
  if (next < 0) return false;
  Node& add = g.nodes[next];
  if (add.op_type != "Add" || !add.post_ops.empty()) return false;
  const int other = add.inputs[0] == n.outputs[0] ? 1 : 0;
  const Tensor* c = ConstantInput(g, add, other);
  const Value& out = g.values[n.outputs[0]];
  if (c == nullptr || c->dtype() != DType::kF32 || !out.has_shape || c->rank() > static_cast<int>(out.shape.size()))
    return false;
  if (n.op_type == "Gemm" && n.attrs.GetFloat("beta", 1.f).value_or(0.f) != 1.f) return false;
  const int channel_axis = 1;  // Conv [N,M,...] and Gemm [M,N] both keep channels at axis 1
  const int64_t channels = out.shape[channel_axis];
  const int offset = static_cast<int>(out.shape.size()) - c->rank();
  for (int i = 0; i < c->rank(); ++i) {
    const int axis = i + offset;
    if (c->dim(i) != 1 && !(axis == channel_axis && c->dim(i) == channels)) return false;
  }
  if (n.inputs.size() > 2 && n.inputs[2] >= 0) {  // an existing bias must be a constant vector
    const Tensor* old = ConstantInput(g, n, 2);
    if (old == nullptr || old->num_elements() != channels) return false;
  }
  const bool per_channel = c->num_elements() == channels && channels != 1;
  Tensor b = BiasOf(g, n, channels);
  for (int64_t k = 0; k < channels; ++k) b.data<float>()[k] += c->data<float>()[per_channel ? k : 0];
  n.inputs.resize(3);
  n.inputs[2] = g.AddConstant(n.name + ".B_add_folded", std::move(b));
  n.outputs[0] = add.outputs[0];
  add.removed = true;
  return true;
}

// MatMul(x[M,K], W[K,N] constant) == Gemm(x, W) with transB = 0.
void MatMulToGemm(Graph& g, Node& n) {
  const Tensor* w = ConstantInput(g, n, 1);
  const Value& x = g.values[n.inputs[0]];
  if (w == nullptr || w->rank() != 2 || !x.has_shape || x.shape.size() != 2 || x.constant) return;
  n.op_type = "Gemm";
  const int64_t opset = n.attrs.GetInt("__opset", 13).value_or(13);
  n.attrs = Attributes();
  n.attrs.Set("__opset", opset);
}

}  // namespace

absl::Status FoldLinearConstants(Graph& g) {
  for (Node& n : g.nodes)
    if (!n.removed && n.op_type == "MatMul") MatMulToGemm(g, n);
  for (Node& n : g.nodes) {
    if (n.removed || n.post_ops.size() || (n.op_type != "Conv" && n.op_type != "Gemm")) continue;
    bool changed = true;
    while (changed) {
      changed = false;
      if (n.op_type == "Conv") changed |= FoldBatchNorm(g, n);
      changed |= FoldBiasAdd(g, n);
    }
  }
  g.Compact();
  return absl::OkStatus();
}

}  // namespace qbench
