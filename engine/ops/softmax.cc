// Softmax op definition, opsets 1-17 (the axis semantics changed at 13).
#include "engine/ops/softmax.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/reference/softmax.h"
#include "engine/ops/nn_util.h"
#include "engine/ops/op_util.h"

namespace qbench {

absl::StatusOr<SoftmaxParams> ParseSoftmax(const Node& node, std::span<const TensorMeta> in) {
  QB_RETURN_IF_ERROR(RequireFloat(node, in, 0));
  const Shape& x = in[0].shape;
  const int rank = static_cast<int>(x.size());
  if (rank == 0) return NodeError(node, "input must have rank >= 1, got a scalar");
  QB_ASSIGN_OR_RETURN(int64_t opset, WithNode(node, node.attrs.GetInt("__opset", 13)));
  SoftmaxParams p;
  p.coerce_2d = opset < 13;
  QB_ASSIGN_OR_RETURN(int64_t axis, WithNode(node, node.attrs.GetInt("axis", p.coerce_2d ? 1 : -1)));
  QB_ASSIGN_OR_RETURN(p.axis, NormalizeAxis(node, axis, rank));
  p.outer = DimProduct(x, 0, p.axis);
  if (p.coerce_2d) {
    p.n = DimProduct(x, p.axis, rank);
    p.inner = 1;
  } else {
    p.n = x[p.axis];
    p.inner = DimProduct(x, p.axis + 1, rank);
  }
  return p;
}

namespace {

absl::Status InferSoftmax(const Node& node, std::span<const TensorMeta> in, std::span<TensorMeta> out) {
  QB_RETURN_IF_ERROR(ParseSoftmax(node, in).status());
  out[0].dtype = DType::kF32;
  out[0].shape = in[0].shape;
  return absl::OkStatus();
}

absl::Status ReferenceSoftmaxOp(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  QB_ASSIGN_OR_RETURN(SoftmaxParams p, ParseSoftmax(node, MetaOf(in)));
  ReferenceSoftmax(p, in[0].data<float>(), out[0].data<float>());
  return absl::OkStatus();
}

// "__opset" is not listed: the importer sets it and skips attribute names starting "__".
constexpr AttrSpec kSoftmaxAttrs[] = {{"axis"}};

}  // namespace

extern const OpDef kSoftmaxDef = {"Softmax", 1, 17, kSoftmaxAttrs, 1, 1, InferSoftmax, ReferenceSoftmaxOp};

}  // namespace qbench
