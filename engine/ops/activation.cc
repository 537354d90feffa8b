// Unary activations (Relu, Clip, LeakyRelu, Sigmoid, Tanh, HardSigmoid, HardSwish): one
// OpDef each, sharing inference and the reference kernel through the eltwise table.
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/reference/eltwise.h"
#include "engine/ops/activation.h"
#include "engine/ops/op_util.h"

namespace qbench {

absl::StatusOr<ActivationParams> ParseActivation(const Node& node, std::span<const TensorMeta> in) {
  const EltwiseDef* e = FindEltwise(node.op_type);
  if (e == nullptr) return NodeUnimplemented(node, "not an activation");
  ActivationParams p{e, e->default_alpha, e->default_beta};
  if (node.op_type == "Clip") {
    // opset < 11: min/max attributes; opset >= 11: optional inputs 1 and 2 (constants).
    QB_ASSIGN_OR_RETURN(p.alpha, node.attrs.GetFloat("min", p.alpha));
    QB_ASSIGN_OR_RETURN(p.beta, node.attrs.GetFloat("max", p.beta));
    for (int i = 1; i <= 2 && i < static_cast<int>(in.size()); ++i) {
      if (!in[i].present) continue;
      if (in[i].value == nullptr)
        return absl::FailedPreconditionError(absl::StrCat(NodeContext(node), ": ", i == 1 ? "min" : "max",
                                                          " must be a constant"));
      if (in[i].value->dtype() != DType::kF32 || in[i].value->num_elements() != 1)
        return NodeError(node, absl::StrCat(i == 1 ? "min" : "max", " must be a float32 scalar"));
      (i == 1 ? p.alpha : p.beta) = in[i].value->data<float>()[0];
    }
  } else if (node.op_type == "LeakyRelu" || node.op_type == "HardSigmoid") {
    QB_ASSIGN_OR_RETURN(p.alpha, node.attrs.GetFloat("alpha", p.alpha));
    QB_ASSIGN_OR_RETURN(p.beta, node.attrs.GetFloat("beta", p.beta));
  }
  return p;
}

namespace {

absl::Status InferActivation(const Node& node, std::span<const TensorMeta> in, std::span<TensorMeta> out) {
  QB_RETURN_IF_ERROR(RequireFloat(node, in, 0));
  QB_RETURN_IF_ERROR(ParseActivation(node, in).status());
  out[0].dtype = DType::kF32;
  out[0].shape = in[0].shape;
  return absl::OkStatus();
}

absl::Status ReferenceActivation(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  std::vector<TensorMeta> meta(in.size());
  for (size_t i = 0; i < in.size(); ++i) meta[i] = {in[i].dtype(), in[i].shape(), &in[i], !in[i].empty()};
  QB_ASSIGN_OR_RETURN(ActivationParams p, ParseActivation(node, meta));
  const float* x = in[0].data<float>();
  float* y = out[0].data<float>();
  for (int64_t i = 0; i < in[0].num_elements(); ++i) y[i] = p.def->fn(x[i], p.alpha, p.beta);
  return absl::OkStatus();
}

constexpr AttrSpec kNoAttrs[] = {{"__none__"}};
constexpr AttrSpec kAlphaAttrs[] = {{"alpha"}};
constexpr AttrSpec kAlphaBetaAttrs[] = {{"alpha"}, {"beta"}};
constexpr AttrSpec kClipAttrs[] = {{"min"}, {"max"}};

}  // namespace

// Opset ranges: Relu/Sigmoid/Tanh/LeakyRelu/HardSigmoid changed only in types since 6;
// Clip moved min/max from attributes to inputs at 11; HardSwish appeared at 14.
extern const OpDef kReluDef = {"Relu", 6, 17, std::span(kNoAttrs, 0), 1, 1, InferActivation, ReferenceActivation};
extern const OpDef kClipDef = {"Clip", 6, 17, kClipAttrs, 1, 3, InferActivation, ReferenceActivation};
extern const OpDef kLeakyReluDef = {"LeakyRelu", 6, 17, kAlphaAttrs, 1, 1, InferActivation, ReferenceActivation};
extern const OpDef kSigmoidDef = {"Sigmoid", 6, 17, std::span(kNoAttrs, 0), 1, 1, InferActivation, ReferenceActivation};
extern const OpDef kTanhDef = {"Tanh", 6, 17, std::span(kNoAttrs, 0), 1, 1, InferActivation, ReferenceActivation};
extern const OpDef kHardSigmoidDef = {"HardSigmoid", 6, 17, kAlphaBetaAttrs, 1, 1, InferActivation, ReferenceActivation};
extern const OpDef kHardSwishDef = {"HardSwish", 14, 17, std::span(kNoAttrs, 0), 1, 1, InferActivation,
                             ReferenceActivation};

}  // namespace qbench
