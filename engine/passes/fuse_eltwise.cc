// Post-op fusion: activations and residual adds run inside the producing Conv/Gemm
// (oneDNN applies them while the output tile is still in registers/cache).
#include "common/status.h"
#include "engine/kernels/reference/eltwise.h"
#include "engine/ops/activation.h"
#include "engine/passes/passes.h"
#include "engine/passes/rewrite_util.h"

namespace qbench {
namespace {

bool IsFusionHost(const Node& n) { return n.op_type == "Conv" || n.op_type == "Gemm"; }

// Host -> activation (sole reader): the activation becomes a post-op.
bool FuseActivation(Graph& g, Node& host) {
  const int next = SoleConsumer(g, host.outputs[0]);
  if (next < 0) return false;
  Node& act = g.nodes[next];
  if (FindEltwise(act.op_type) == nullptr || act.inputs[0] != host.outputs[0]) return false;
  std::vector<TensorMeta> in(act.inputs.size());
  for (size_t i = 0; i < act.inputs.size(); ++i) {
    if (act.inputs[i] < 0) {
      in[i].present = false;
      continue;
    }
    const Value& v = g.values[act.inputs[i]];
    in[i] = {v.dtype, v.shape, v.constant ? &*v.constant : nullptr, true};
  }
  auto params = ParseActivation(act, in);
  if (!params.ok()) return false;  // e.g. Clip with runtime bounds: stays a node
  host.post_ops.push_back({act.op_type, params->alpha, params->beta, -1, act.name});
  host.outputs[0] = act.outputs[0];
  act.removed = true;
  return true;
}

// Conv -> Add(conv_out, r) with r of the same shape, produced before the Conv: the Add
// becomes a Sum post-op, dst = conv(x) + r. r must be computed before the Conv runs,
// which holds because nodes are in topological order and r is not the Conv's output.
bool FuseSum(Graph& g, Node& host, int host_index) {
  if (host.op_type != "Conv") return false;
  const int next = SoleConsumer(g, host.outputs[0]);
  if (next < 0) return false;
  Node& add = g.nodes[next];
  if (add.op_type != "Add" || add.inputs.size() != 2 || !add.post_ops.empty()) return false;
  const int r = add.inputs[0] == host.outputs[0] ? add.inputs[1] : add.inputs[0];
  const Value& rv = g.values[r];
  const Value& out = g.values[host.outputs[0]];
  if (rv.constant || !rv.has_shape || !out.has_shape || rv.shape != out.shape || rv.dtype != DType::kF32) return false;
  if (rv.producer >= host_index) return false;
  for (const PostOp& p : host.post_ops)
    if (p.kind == "Sum") return false;  // one residual per conv
  host.post_ops.push_back({"Sum", 1.f, 0.f, r, add.name});
  host.outputs[0] = add.outputs[0];
  add.removed = true;
  return true;
}

}  // namespace

absl::Status FuseEltwise(Graph& g) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& n = g.nodes[i];
    if (n.removed || !IsFusionHost(n)) continue;
    while (FuseActivation(g, n) || FuseSum(g, n, static_cast<int>(i))) {
    }
  }
  g.Compact();
  return absl::OkStatus();
}

absl::Status Optimize(Graph& g, bool fuse) {
  QB_RETURN_IF_ERROR(PropagateAndFold(g));
  QB_RETURN_IF_ERROR(RemoveIdentities(g));
  if (!fuse) return absl::OkStatus();
  QB_RETURN_IF_ERROR(FoldLinearConstants(g));
  QB_RETURN_IF_ERROR(FuseEltwise(g));
  return absl::OkStatus();
}

}  // namespace qbench
