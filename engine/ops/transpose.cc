#include "engine/ops/transpose.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/reference/transpose.h"
#include "engine/ops/op_util.h"
#include "engine/ops/tensor_util.h"

namespace qbench {

absl::StatusOr<TransposeParams> ParseTranspose(const Node& node, std::span<const TensorMeta> in) {
  if (!HasInput(in, 0)) return NodeError(node, "input 0 is required");
  const Shape& x = in[0].shape;
  const int rank = static_cast<int>(x.size());
  std::vector<int64_t> reversed(rank);
  for (int k = 0; k < rank; ++k) reversed[k] = rank - 1 - k;
  QB_ASSIGN_OR_RETURN(std::vector<int64_t> perm, WithNode(node, node.attrs.GetInts("perm", reversed)));
  if (static_cast<int>(perm.size()) != rank)
    return NodeError(node, absl::StrCat("attribute \"perm\" ", IntsToString(perm), " has ", perm.size(),
                                        " entries for input ", ShapeToString(x), " of rank ", rank));
  TransposeParams p;
  std::vector<bool> seen(rank, false);
  for (int64_t axis : perm) {
    // ONNX requires a permutation of [0, rank): negative entries are not allowed.
    if (axis < 0 || axis >= rank || seen[axis])
      return NodeError(node, absl::StrCat("attribute \"perm\" ", IntsToString(perm), " is not a permutation of [0, ",
                                          rank, ")"));
    seen[axis] = true;
    p.perm.push_back(static_cast<int>(axis));
    p.out.push_back(x[axis]);
  }
  return p;
}

namespace {

absl::Status InferTranspose(const Node& node, std::span<const TensorMeta> in, std::span<TensorMeta> out) {
  QB_ASSIGN_OR_RETURN(TransposeParams p, ParseTranspose(node, in));
  out[0].dtype = in[0].dtype;
  out[0].shape = p.out;
  return absl::OkStatus();
}

absl::Status ReferenceTransposeOp(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  QB_ASSIGN_OR_RETURN(TransposeParams p, ParseTranspose(node, MetasOf(in)));
  ReferenceTranspose(p, in[0], &out[0]);
  return absl::OkStatus();
}

constexpr AttrSpec kTransposeAttrs[] = {{"perm"}};

}  // namespace

extern const OpDef kTransposeDef = {"Transpose", 1, 17, kTransposeAttrs, 1, 1, InferTranspose, ReferenceTransposeOp};

}  // namespace qbench
