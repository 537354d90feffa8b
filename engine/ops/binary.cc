// Add, Sub, Mul, Div: one OpDef each, sharing parsing, inference and the reference kernel
// through the binary table (kernels/reference/binary.h).
#include "engine/ops/binary.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/ops/op_util.h"
#include "engine/ops/tensor_util.h"

namespace qbench {

absl::StatusOr<BinaryParams> ParseBinary(const Node& node, std::span<const TensorMeta> in) {
  const BinaryDef* def = FindBinary(node.op_type);
  if (def == nullptr) return NodeUnimplemented(node, "not a binary arithmetic op");
  for (int i = 0; i < 2; ++i)
    if (!HasInput(in, i)) return NodeError(node, absl::StrCat("input ", i, " is required"));
  if (in[0].dtype != in[1].dtype)
    return NodeError(node, absl::StrCat("inputs have different types ", std::string(Name(in[0].dtype)), " and ",
                                        std::string(Name(in[1].dtype))));
  if (!BinarySupportsDType(in[0].dtype))
    return NodeUnimplemented(node, absl::StrCat("inputs have type ", std::string(Name(in[0].dtype)),
                                                "; supported: f32, s8, u8, s32, s64"));
  BinaryParams p{def, in[0].dtype, {}};
  QB_ASSIGN_OR_RETURN(p.out, BroadcastShapes(node, in[0].shape, in[1].shape));
  return p;
}

namespace {

absl::Status InferBinary(const Node& node, std::span<const TensorMeta> in, std::span<TensorMeta> out) {
  QB_ASSIGN_OR_RETURN(BinaryParams p, ParseBinary(node, in));
  out[0].dtype = p.dtype;
  out[0].shape = p.out;
  return absl::OkStatus();
}

absl::Status ReferenceBinaryOp(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  QB_ASSIGN_OR_RETURN(BinaryParams p, ParseBinary(node, MetasOf(in)));
  return ReferenceBinary(node, p, in[0], in[1], &out[0]);
}

}  // namespace

// Opset 7 replaced the old broadcast/axis attributes with numpy broadcasting; 13 and 14
// only added element types. No attributes.
extern const OpDef kAddDef = {"Add", 7, 17, {}, 2, 2, InferBinary, ReferenceBinaryOp};
extern const OpDef kSubDef = {"Sub", 7, 17, {}, 2, 2, InferBinary, ReferenceBinaryOp};
extern const OpDef kMulDef = {"Mul", 7, 17, {}, 2, 2, InferBinary, ReferenceBinaryOp};
extern const OpDef kDivDef = {"Div", 7, 17, {}, 2, 2, InferBinary, ReferenceBinaryOp};

}  // namespace qbench
