#include "engine/graph/graph.h"

#include <algorithm>

namespace qbench {

int Graph::AddValue(Value v) {
  values.push_back(std::move(v));
  return static_cast<int>(values.size()) - 1;
}

int Graph::AddConstant(const std::string& name, Tensor t) {
  Value v;
  v.name = name;
  v.dtype = t.dtype();
  v.shape = t.shape();
  v.has_shape = true;
  v.constant = std::move(t);
  return AddValue(std::move(v));
}

int Graph::FindValue(const std::string& n) const {
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i].name == n) return static_cast<int>(i);
  return -1;
}

std::vector<int> Graph::Consumers(int v) const {
  std::vector<int> out;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (n.removed) continue;
    bool uses = std::find(n.inputs.begin(), n.inputs.end(), v) != n.inputs.end();
    for (const PostOp& p : n.post_ops) uses |= p.sum_input == v;
    if (n.quant) uses |= n.quant->dynamic_scale == v || n.quant->dynamic_zero_point == v;
    if (uses) out.push_back(static_cast<int>(i));
  }
  return out;
}

bool Graph::IsGraphOutput(int v) const { return std::find(outputs.begin(), outputs.end(), v) != outputs.end(); }

void Graph::Compact() {
  std::erase_if(nodes, [](const Node& n) { return n.removed; });
  RebuildProducers();
}

void Graph::RebuildProducers() {
  for (Value& v : values) v.producer = -1;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (int o : nodes[i].outputs)
      if (o >= 0) values[o].producer = static_cast<int>(i);
}

int Graph::CountOps(const std::string& op_type) const {
  return static_cast<int>(std::count_if(nodes.begin(), nodes.end(),
                                        [&](const Node& n) { return !n.removed && n.op_type == op_type; }));
}

}  // namespace qbench
