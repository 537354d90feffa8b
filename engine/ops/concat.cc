#include "engine/ops/concat.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/reference/concat.h"
#include "engine/ops/op_util.h"
#include "engine/ops/tensor_util.h"

namespace qbench {

absl::StatusOr<ConcatParams> ParseConcat(const Node& node, std::span<const TensorMeta> in) {
  if (in.empty()) return NodeError(node, "needs at least one input");
  for (int i = 0; i < static_cast<int>(in.size()); ++i)
    if (!in[i].present) return NodeError(node, absl::StrCat("input ", i, " is missing"));
  if (!node.attrs.Has("axis")) return NodeError(node, "attribute \"axis\" is required");
  QB_ASSIGN_OR_RETURN(int64_t axis, WithNode(node, node.attrs.GetInt("axis", 0)));
  const Shape& first = in[0].shape;
  const int rank = static_cast<int>(first.size());
  if (rank == 0) return NodeError(node, "cannot concatenate scalars");
  ConcatParams p{0, in[0].dtype, first};
  QB_ASSIGN_OR_RETURN(p.axis, NormalizeAxis(node, axis, rank));
  for (size_t i = 1; i < in.size(); ++i) {
    const Shape& s = in[i].shape;
    if (in[i].dtype != p.dtype)
      return NodeError(node, absl::StrCat("input ", i, " has type ", std::string(Name(in[i].dtype)), ", input 0 has ",
                                          std::string(Name(p.dtype))));
    if (s.size() != first.size())
      return NodeError(node, absl::StrCat("input ", i, " has shape ", ShapeToString(s), ", input 0 has ",
                                          ShapeToString(first), ": ranks differ"));
    for (int k = 0; k < rank; ++k) {
      if (k == p.axis) {
        p.out[k] = (p.out[k] == kDynamicDim || s[k] == kDynamicDim) ? kDynamicDim : p.out[k] + s[k];
      } else if (p.out[k] == kDynamicDim) {
        p.out[k] = s[k];  // the known dim wins; the plan-time check sees both concrete
      } else if (s[k] != kDynamicDim && s[k] != p.out[k]) {
        return NodeError(node, absl::StrCat("input ", i, " has shape ", ShapeToString(s), ", input 0 has ",
                                            ShapeToString(first), ": dim ", k, " differs off axis ", p.axis));
      }
    }
  }
  return p;
}

namespace {

absl::Status InferConcat(const Node& node, std::span<const TensorMeta> in, std::span<TensorMeta> out) {
  QB_ASSIGN_OR_RETURN(ConcatParams p, ParseConcat(node, in));
  out[0].dtype = p.dtype;
  out[0].shape = p.out;
  return absl::OkStatus();
}

absl::Status ReferenceConcatOp(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  QB_ASSIGN_OR_RETURN(ConcatParams p, ParseConcat(node, MetasOf(in)));
  ReferenceConcat(p, in, &out[0]);
  return absl::OkStatus();
}

constexpr AttrSpec kConcatAttrs[] = {{"axis"}};

}  // namespace

// Opsets 1-3 defaulted axis to 1; from 4 it is required. Variadic: one or more inputs.
extern const OpDef kConcatDef = {"Concat", 4, 17, kConcatAttrs, 1, std::numeric_limits<int>::max(), InferConcat,
                                 ReferenceConcatOp};

}  // namespace qbench
