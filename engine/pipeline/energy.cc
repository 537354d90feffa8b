#include "engine/pipeline/energy.h"

namespace qbench {
namespace {

// Elements per sample of a value: the product of its dims after the batch dim.
int64_t PerSample(const Value& v) {
  if (!v.has_shape || v.shape.empty()) return 0;
  int64_t n = 1;
  for (size_t d = 1; d < v.shape.size(); ++d) {
    if (v.shape[d] < 0) return 0;
    n *= v.shape[d];
  }
  return n;
}

}  // namespace

OpCounts CountOps(const Graph& g, int64_t weight_bytes) {
  OpCounts ops;
  ops.weight_bytes = weight_bytes;
  for (const Node& n : g.nodes) {
    for (int o : n.outputs)
      if (o >= 0) ops.activation_bytes += PerSample(g.values[o]) * static_cast<int64_t>(SizeOf(g.values[o].dtype));
    if (n.op_type != "Conv" && n.op_type != "Gemm" && n.op_type != "MatMul") continue;
    if (n.inputs.size() < 2 || n.inputs[1] < 0 || !g.values[n.inputs[1]].constant) continue;
    const Tensor& w = *g.values[n.inputs[1]].constant;
    const int64_t out = PerSample(g.values[n.outputs[0]]);
    // Conv: each output element takes (IC/G) * K MACs = weights / OC; Gemm/MatMul: each
    // sample's row takes K * N MACs = all weights.
    const int64_t macs = n.op_type == "Conv" ? out * (w.num_elements() / w.dim(0)) : w.num_elements();
    if (n.quant) ops.macs_int8 += macs;
    else if (n.attrs.Has("__bf16")) ops.macs_bf16 += macs;
    else ops.macs_fp32 += macs;
  }
  return ops;
}

}  // namespace qbench
