// Maps fused activations and residual sums onto oneDNN 2.6 post-ops, one table row per
// ONNX activation.
#pragma once

#include <dnnl.hpp>

#include "absl/status/statusor.h"
#include "engine/graph/graph.h"

namespace qbench {

// Appends the eltwise steps for one activation. Returns Unimplemented for activations
// oneDNN 2.6 cannot express (none of ours today).
absl::Status AppendEltwise(dnnl::post_ops& po, const std::string& kind, float alpha, float beta);

// All of node.post_ops, in order. A "Sum" post-op becomes append_sum(1): dst = op(x) + dst,
// so the executor must have the residual in dst before the primitive runs.
absl::StatusOr<dnnl::post_ops> BuildPostOps(const Node& node);

// The single-primitive eltwise algorithm for a standalone activation, if there is one.
bool EltwiseAlgorithm(const std::string& kind, float alpha, float beta, dnnl::algorithm* alg, float* a, float* b);

}  // namespace qbench
