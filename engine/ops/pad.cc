#include "engine/ops/pad.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/reference/pad.h"
#include "engine/ops/op_util.h"
#include "engine/ops/tensor_util.h"
#include "engine/ops/window.h"

namespace qbench {
namespace {

struct ModeName {
  std::string_view name;
  PadMode mode;
};
constexpr ModeName kModes[] = {
    {"constant", PadMode::kConstant}, {"reflect", PadMode::kReflect}, {"edge", PadMode::kEdge}};

// The fill value as one element of `dtype`.
absl::StatusOr<Tensor> ParsePadValue(const Node& node, std::span<const TensorMeta> in, DType dtype) {
  const bool has_attr = node.attrs.Has("value");
  if (HasInput(in, 2)) {
    if (has_attr) return NodeError(node, "fill value given both as attribute \"value\" and as input 2");
    const TensorMeta& v = in[2];
    if (v.value == nullptr)
      return absl::FailedPreconditionError(
          absl::StrCat(NodeContext(node), ": input \"constant_value\" is not a constant"));
    if (v.dtype != dtype || v.value->num_elements() != 1)
      return NodeError(node, absl::StrCat("input \"constant_value\" must be one ", std::string(Name(dtype)),
                                          " element, got ", std::string(Name(v.dtype)), ShapeToString(v.shape)));
    return *v.value;
  }
  QB_ASSIGN_OR_RETURN(float value, WithNode(node, node.attrs.GetFloat("value", 0.f)));
  return Tensor::Scalar(value).CastTo(dtype);
}

}  // namespace

absl::StatusOr<PadParams> ParsePad(const Node& node, std::span<const TensorMeta> in) {
  if (!HasInput(in, 0)) return NodeError(node, "input 0 is required");
  const Shape& x = in[0].shape;
  const int rank = static_cast<int>(x.size());
  PadParams p;
  QB_ASSIGN_OR_RETURN(std::string mode, WithNode(node, node.attrs.GetString("mode", "constant")));
  const ModeName* m = nullptr;
  for (const ModeName& candidate : kModes)
    if (candidate.name == mode) m = &candidate;
  if (m == nullptr)
    return NodeUnimplemented(node,
                             absl::StrCat("attribute \"mode\" is \"", mode, "\"; supported: constant, reflect, edge"));
  p.mode = m->mode;

  bool given = false;
  QB_ASSIGN_OR_RETURN(std::vector<int64_t> pads, IntsFromInputOrAttribute(node, in, 1, "pads", &given));
  if (!given) return NodeError(node, "\"pads\" (attribute or input 1) is required");
  if (static_cast<int>(pads.size()) != 2 * rank)
    return NodeError(node, absl::StrCat("pads ", IntsToString(pads), " has ", pads.size(), " entries; input ",
                                        ShapeToString(x), " needs ", 2 * rank));
  // Each pad (negative: a crop) within +-2^24, in 64 bits before d + b + e.
  for (size_t i = 0; i < pads.size(); ++i)
    if (pads[i] < -kMaxWindowValue || pads[i] > kMaxWindowValue)
      return NodeError(node, absl::StrCat("pads entry ", i, " is ", pads[i], "; each must be within +-",
                                          kMaxWindowValue));
  p.begin.assign(pads.begin(), pads.begin() + rank);
  p.end.assign(pads.begin() + rank, pads.end());
  for (int k = 0; k < rank; ++k) {
    const int64_t b = p.begin[k], e = p.end[k], d = x[k];
    if (d == kDynamicDim) {
      p.out.push_back(kDynamicDim);
      continue;
    }
    if (d < 0 || d > (int64_t{1} << 40))
      return NodeError(node, absl::StrCat("dim ", k, " of the input is ", d, "; at most 2^40"));
    if (d + b + e < 0)
      return NodeError(node,
                       absl::StrCat("pads ", IntsToString(pads), " crop more than dim ", k, " of ", ShapeToString(x)));
    if (p.mode == PadMode::kReflect && (b > 0 || e > 0) && (b > d - 1 || e > d - 1))
      return NodeError(node, absl::StrCat("reflect pads ", IntsToString(pads), " must be < dim ", k, " of ",
                                          ShapeToString(x)));
    if (p.mode == PadMode::kEdge && (b > 0 || e > 0) && d == 0)
      return NodeError(node, absl::StrCat("edge padding of the empty dim ", k, " of ", ShapeToString(x)));
    p.out.push_back(d + b + e);
  }
  QB_ASSIGN_OR_RETURN(p.value, ParsePadValue(node, in, in[0].dtype));
  return p;
}

namespace {

absl::Status InferPad(const Node& node, std::span<const TensorMeta> in, std::span<TensorMeta> out) {
  QB_ASSIGN_OR_RETURN(PadParams p, ParsePad(node, in));
  out[0].dtype = in[0].dtype;
  out[0].shape = p.out;
  return absl::OkStatus();
}

absl::Status ReferencePadOp(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  QB_ASSIGN_OR_RETURN(PadParams p, ParsePad(node, MetasOf(in)));
  ReferencePad(p, in[0], &out[0]);
  return absl::OkStatus();
}

constexpr AttrSpec kPadAttrs[] = {{"mode"}, {"pads"}, {"value"}};

}  // namespace

// Opset 2 renamed "paddings" to "pads"; 11 moved pads and the value to inputs; 18 added
// the "axes" input (not supported: max 3 inputs).
extern const OpDef kPadDef = {"Pad", 2, 17, kPadAttrs, 1, 3, InferPad, ReferencePadOp};

}  // namespace qbench
