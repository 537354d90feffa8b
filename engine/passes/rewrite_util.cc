#include "engine/passes/rewrite_util.h"

namespace qbench {

void ReplaceUses(Graph& g, int from, int to) {
  for (Node& n : g.nodes) {
    if (n.removed) continue;
    for (int& v : n.inputs)
      if (v == from) v = to;
    for (PostOp& p : n.post_ops)
      if (p.sum_input == from) p.sum_input = to;
  }
}

int SoleConsumer(const Graph& g, int v) {
  if (g.IsGraphOutput(v)) return -1;
  std::vector<int> c = g.Consumers(v);
  if (c.size() != 1) return -1;
  // A node reading the value twice (Add(x, x)) is not a sole single use.
  int uses = 0;
  for (int in : g.nodes[c[0]].inputs) uses += in == v;
  for (const PostOp& p : g.nodes[c[0]].post_ops) uses += p.sum_input == v;
  return uses == 1 ? c[0] : -1;
}

const Tensor* ConstantInput(const Graph& g, const Node& n, size_t i) {
  if (i >= n.inputs.size() || n.inputs[i] < 0) return nullptr;
  const Value& v = g.values[n.inputs[i]];
  return v.constant ? &*v.constant : nullptr;
}

}  // namespace qbench
