#include "engine/ops/identity.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/ops/op_util.h"
#include "engine/ops/tensor_util.h"

namespace qbench {

absl::Status CheckDropoutInference(const Node& node, std::span<const TensorMeta> in) {
  if (!HasInput(in, 2)) return absl::OkStatus();
  const TensorMeta& mode = in[2];
  if (mode.value == nullptr)
    return absl::FailedPreconditionError(
        absl::StrCat(NodeContext(node), ": input \"training_mode\" is not a constant"));
  if (mode.value->num_elements() != 1 || mode.dtype != DType::kBool)
    return NodeError(node, absl::StrCat("input \"training_mode\" must be a bool scalar, got ",
                                        std::string(Name(mode.dtype)), ShapeToString(mode.shape)));
  if (static_cast<const uint8_t*>(mode.value->raw())[0] != 0)
    return NodeUnimplemented(node, "training_mode is true; only inference Dropout is supported");
  return absl::OkStatus();
}

namespace {

absl::Status InferIdentity(const Node& node, std::span<const TensorMeta> in, std::span<TensorMeta> out) {
  if (!HasInput(in, 0)) return NodeError(node, "input 0 is required");
  if (node.op_type == "Dropout") QB_RETURN_IF_ERROR(CheckDropoutInference(node, in));
  out[0].dtype = in[0].dtype;
  out[0].shape = in[0].shape;
  if (out.size() > 1) out[1] = {DType::kBool, in[0].shape};  // Dropout's mask
  return absl::OkStatus();
}

// Inference Dropout is the identity; its optional mask output keeps every element (true).
absl::Status ReferenceDropout(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  QB_RETURN_IF_ERROR(CopyInputToOutput(node, in, out.subspan(0, 1)));
  if (out.size() > 1 && out[1].nbytes()) std::memset(out[1].raw(), 1, out[1].nbytes());
  return absl::OkStatus();
}

constexpr AttrSpec kDropoutAttrs[] = {{"ratio"}, {"seed"}};

}  // namespace

// Identity 14/16 only added sequence and optional types (not supported: the engine holds
// tensors). Dropout 7 dropped is_test; 12 moved ratio to an input and added
// training_mode and seed.
extern const OpDef kIdentityDef = {"Identity", 1, 17, {}, 1, 1, InferIdentity, CopyInputToOutput};
extern const OpDef kDropoutDef = {"Dropout", 7, 17, kDropoutAttrs, 1, 3, InferIdentity, ReferenceDropout};

}  // namespace qbench
