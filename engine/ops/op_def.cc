#include "engine/ops/op_def.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/reference/eltwise.h"
#include "engine/ops/op_util.h"

namespace qbench {

absl::Status RunReference(const OpDef& def, const Node& node, std::span<const Tensor> in,
                          std::vector<Tensor>* out) {
  const size_t n_main = node.inputs.size();
  std::vector<TensorMeta> in_meta(n_main);
  for (size_t i = 0; i < n_main; ++i) {
    if (node.inputs[i] < 0 || in[i].empty()) {
      in_meta[i].present = false;
      continue;
    }
    in_meta[i] = {in[i].dtype(), in[i].shape(), &in[i], true};
  }
  std::vector<TensorMeta> out_meta(node.outputs.size());
  QB_RETURN_IF_ERROR(def.infer(node, in_meta, out_meta));
  out->clear();
  for (const TensorMeta& m : out_meta)  // a shape whose size wraps int64 would allocate a wrapped size
    if (CheckedBytes(m.dtype, m.shape) < 0)
      return absl::ResourceExhaustedError(
          absl::StrCat(NodeContext(node), ": output shape ", ShapeToString(m.shape), " is too large for any memory"));
  for (const TensorMeta& m : out_meta) out->emplace_back(m.dtype, m.shape);
  QB_RETURN_IF_ERROR(def.reference(node, in.subspan(0, n_main), *out));
  if (!node.post_ops.empty()) QB_RETURN_IF_ERROR(ApplyPostOpsReference(node, &(*out)[0], in.subspan(n_main)));
  return absl::OkStatus();
}

absl::Status ApplyPostOpsReference(const Node& node, Tensor* dst, std::span<const Tensor> sums) {
  if (dst->dtype() != DType::kF32) return NodeUnimplemented(node, "post-ops need a float32 output");
  float* y = dst->data<float>();
  const int64_t n = dst->num_elements();
  size_t next_sum = 0;
  for (const PostOp& p : node.post_ops) {
    if (p.kind == "Sum") {
      if (next_sum >= sums.size()) return NodeError(node, "Sum post-op without its input");
      const Tensor& r = sums[next_sum++];
      if (r.num_elements() != n || r.dtype() != DType::kF32)
        return NodeError(node, absl::StrCat("Sum post-op input has shape ", ShapeToString(r.shape()),
                                            ", output has ", ShapeToString(dst->shape())));
      const float* s = r.data<float>();
      for (int64_t i = 0; i < n; ++i) y[i] += s[i];
      continue;
    }
    const EltwiseDef* e = FindEltwise(p.kind);
    if (e == nullptr) return NodeUnimplemented(node, absl::StrCat("unknown post-op ", p.kind));
    for (int64_t i = 0; i < n; ++i) y[i] = e->fn(y[i], p.alpha, p.beta);
  }
  return absl::OkStatus();
}

}  // namespace qbench
