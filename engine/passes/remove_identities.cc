#include "engine/passes/passes.h"
#include "engine/passes/rewrite_util.h"

namespace qbench {

absl::Status RemoveIdentities(Graph& g) {
  for (Node& n : g.nodes) {
    if (n.removed || (n.op_type != "Identity" && n.op_type != "Dropout")) continue;
    // An inference Dropout's mask nobody reads is dropped; a read mask keeps the node.
    if (n.outputs.size() == 2 && n.outputs[1] >= 0 && g.Consumers(n.outputs[1]).empty() &&
        !g.IsGraphOutput(n.outputs[1]))
      n.outputs.resize(1);
    if (n.outputs.size() != 1 || n.inputs.empty() || n.inputs[0] < 0) continue;
    const int in = n.inputs[0], out = n.outputs[0];
    // A graph output keeps its name: leave that node (a copy) in place.
    if (g.IsGraphOutput(out)) continue;
    ReplaceUses(g, out, in);
    n.removed = true;
  }
  g.Compact();
  return absl::OkStatus();
}

}  // namespace qbench
