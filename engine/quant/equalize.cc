#include "engine/quant/equalize.h"

#include <algorithm>
#include <cmath>

#include "engine/passes/rewrite_util.h"

namespace qbench::quant {
namespace {

bool ScaleEquivariant(const Node& a) {
  for (const PostOp& p : a.post_ops)
    if (p.kind != "Relu" && p.kind != "LeakyRelu") return false;
  return true;
}

struct Pair {
  int a, b;
  bool depthwise;
};

// Conv pairs A -> B that may be equalized.
std::vector<Pair> FindPairs(const Graph& g) {
  std::vector<Pair> out;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& a = g.nodes[i];
    if (a.removed || a.op_type != "Conv" || !ScaleEquivariant(a)) continue;
    if (a.attrs.GetInt("group", 1).value_or(0) != 1) continue;
    const Tensor* wa = ConstantInput(g, a, 1);
    if (!wa || wa->dtype() != DType::kF32) continue;
    const int next = SoleConsumer(g, a.outputs[0]);
    if (next < 0) continue;
    const Node& b = g.nodes[next];
    if (b.op_type != "Conv" || b.inputs[0] != a.outputs[0]) continue;
    bool sum_reads_a = false;
    for (const PostOp& p : b.post_ops) sum_reads_a |= p.sum_input == a.outputs[0];
    if (sum_reads_a) continue;
    const Tensor* wb = ConstantInput(g, b, 1);
    if (!wb || wb->dtype() != DType::kF32) continue;
    const int64_t channels = wa->dim(0);
    const int64_t group = b.attrs.GetInt("group", 1).value_or(0);
    const bool depthwise = group == channels && wb->dim(0) == channels && wb->dim(1) == 1;
    if (group != 1 && !depthwise) continue;
    if (!depthwise && wb->dim(1) != channels) continue;
    out.push_back({static_cast<int>(i), next, depthwise});
  }
  return out;
}

// A private copy of a node's constant input (weights may be shared between values).
Tensor& OwnConstant(Graph& g, Node& n, int i) {
  Value v = g.values[n.inputs[i]];
  v.name += "_equalized";
  v.constant = v.constant->Clone();
  n.inputs[i] = g.AddValue(std::move(v));
  return *g.values[n.inputs[i]].constant;
}

}  // namespace

absl::StatusOr<int> EqualizeConvChains(Graph& g, int passes) {
  const std::vector<Pair> pairs = FindPairs(g);
  for (const Pair& p : pairs) {  // copy-on-write once, so other graphs sharing them are untouched
    OwnConstant(g, g.nodes[p.a], 1);
    if (g.nodes[p.a].inputs.size() > 2 && g.nodes[p.a].inputs[2] >= 0) OwnConstant(g, g.nodes[p.a], 2);
    OwnConstant(g, g.nodes[p.b], 1);
  }
  for (int pass = 0; pass < passes; ++pass) {
    for (const Pair& p : pairs) {
      Node& a = g.nodes[p.a];
      Node& b = g.nodes[p.b];
      Tensor& wa = *g.values[a.inputs[1]].constant;
      Tensor& wb = *g.values[b.inputs[1]].constant;
      Tensor* ba = a.inputs.size() > 2 && a.inputs[2] >= 0 ? &*g.values[a.inputs[2]].constant : nullptr;
      const int64_t channels = wa.dim(0);
      const int64_t per_a = wa.num_elements() / channels;
      const int64_t b_out = wb.dim(0), b_in = wb.dim(1), taps = wb.num_elements() / (b_out * b_in);
      std::vector<double> r1(channels, 0.0), r2(channels, 0.0);
      for (int64_t c = 0; c < channels; ++c)
        for (int64_t k = 0; k < per_a; ++k) r1[c] = std::max(r1[c], std::abs(double(wa.data<float>()[c * per_a + k])));
      for (int64_t o = 0; o < b_out; ++o)
        for (int64_t i = 0; i < b_in; ++i)
          for (int64_t t = 0; t < taps; ++t) {
            const int64_t c = p.depthwise ? o : i;
            r2[c] = std::max(r2[c], std::abs(double(wb.data<float>()[(o * b_in + i) * taps + t])));
          }
      for (int64_t c = 0; c < channels; ++c) {
        if (r1[c] <= 0 || r2[c] <= 0) continue;
        const double s = std::sqrt(r1[c] / r2[c]);
        for (int64_t k = 0; k < per_a; ++k) wa.data<float>()[c * per_a + k] = float(wa.data<float>()[c * per_a + k] / s);
        if (ba) ba->data<float>()[c] = float(ba->data<float>()[c] / s);
        for (int64_t o = 0; o < b_out; ++o)
          for (int64_t i = 0; i < b_in; ++i) {
            if ((p.depthwise ? o : i) != c) continue;
            for (int64_t t = 0; t < taps; ++t) {
              float& w = wb.data<float>()[(o * b_in + i) * taps + t];
              w = float(w * s);
            }
          }
      }
    }
  }
  return static_cast<int>(pairs.size());
}

}  // namespace qbench::quant
