// Small graph-rewriting helpers shared by the passes.
#pragma once

#include "engine/graph/graph.h"

namespace qbench {

// Every read of value `from` (node inputs, Sum post-ops) now reads `to`.
void ReplaceUses(Graph& g, int from, int to);
// The only live node reading `v`, or -1 when there are none, several, or v is a graph output.
int SoleConsumer(const Graph& g, int v);
// The constant tensor of input `i` of node `n`, or nullptr.
const Tensor* ConstantInput(const Graph& g, const Node& n, size_t i);

}  // namespace qbench
