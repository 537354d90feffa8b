#include "engine/ops/gather.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/reference/gather.h"
#include "engine/ops/op_util.h"
#include "engine/ops/tensor_util.h"

namespace qbench {

absl::StatusOr<GatherParams> ParseGather(const Node& node, std::span<const TensorMeta> in) {
  for (int i = 0; i < 2; ++i)
    if (!HasInput(in, i)) return NodeError(node, absl::StrCat("input ", i, " is required"));
  const Shape& data = in[0].shape;
  const Shape& indices = in[1].shape;
  const int rank = static_cast<int>(data.size());
  if (rank == 0) return NodeError(node, "input \"data\" must have rank >= 1, got a scalar");
  if (in[1].dtype != DType::kS64 && in[1].dtype != DType::kS32)
    return NodeError(node,
                     absl::StrCat("input \"indices\" must be int32 or int64, got ", std::string(Name(in[1].dtype))));
  QB_ASSIGN_OR_RETURN(int64_t axis, WithNode(node, node.attrs.GetInt("axis", 0)));
  GatherParams p;
  QB_ASSIGN_OR_RETURN(p.axis, NormalizeAxis(node, axis, rank));
  const int64_t dim = data[p.axis];
  if (in[1].value != nullptr && dim != kDynamicDim) {
    QB_ASSIGN_OR_RETURN(std::vector<int64_t> values, ConstantInts(node, in[1], "indices"));
    for (int64_t v : values)
      if (v < -dim || v >= dim)
        return NodeError(node, absl::StrCat("index ", v, " out of range [", -dim, ", ", dim - 1, "] for axis ", p.axis,
                                            " of ", ShapeToString(data)));
  }
  p.out.assign(data.begin(), data.begin() + p.axis);
  p.out.insert(p.out.end(), indices.begin(), indices.end());
  p.out.insert(p.out.end(), data.begin() + p.axis + 1, data.end());
  return p;
}

namespace {

absl::Status InferGather(const Node& node, std::span<const TensorMeta> in, std::span<TensorMeta> out) {
  QB_ASSIGN_OR_RETURN(GatherParams p, ParseGather(node, in));
  out[0].dtype = in[0].dtype;
  out[0].shape = p.out;
  return absl::OkStatus();
}

absl::Status ReferenceGatherOp(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  QB_ASSIGN_OR_RETURN(GatherParams p, ParseGather(node, MetasOf(in)));
  return ReferenceGather(node, p, in[0], in[1], &out[0]);
}

constexpr AttrSpec kGatherAttrs[] = {{"axis"}};

}  // namespace

extern const OpDef kGatherDef = {"Gather", 1, 17, kGatherAttrs, 2, 2, InferGather, ReferenceGatherOp};

}  // namespace qbench
