#include "engine/ops/quantize_linear.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/ops/op_util.h"
#include "engine/ops/tensor_util.h"

namespace qbench {
namespace {

int32_t ReadInt(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::kS8: return t.data<int8_t>()[i];
    case DType::kU8: return t.data<uint8_t>()[i];
    case DType::kS32: return t.data<int32_t>()[i];
    default: return 0;
  }
}

bool IsQuantType(DType t) { return t == DType::kS8 || t == DType::kU8; }

// Per-element channel index for per-axis parameters.
int64_t ChannelOf(const QuantParams& p, const Shape& shape, int64_t i) {
  if (p.axis < 0) return 0;
  int64_t inner = 1;
  for (size_t d = p.axis + 1; d < shape.size(); ++d) inner *= shape[d];
  return (i / inner) % shape[p.axis];
}


}  // namespace

absl::StatusOr<QuantParams> QdqParams(const Node& node, std::span<const TensorMeta> in, int rank) {
  if (!HasInput(in, 1)) return NodeError(node, "input \"scale\" is required");
  if (in[1].value == nullptr)
    return absl::FailedPreconditionError(absl::StrCat(NodeContext(node), ": scale is not a constant"));
  const Tensor& scale = *in[1].value;
  if (scale.dtype() != DType::kF32 || scale.rank() > 1)
    return NodeError(node, absl::StrCat("scale must be a float32 scalar or 1-D tensor, got ",
                                        std::string(Name(scale.dtype())), ShapeToString(scale.shape())));
  QuantParams p;
  const bool is_q = node.op_type == "QuantizeLinear";
  const TensorMeta* zp = HasInput(in, 2) ? &in[2] : nullptr;
  if (zp && zp->value == nullptr)
    return absl::FailedPreconditionError(absl::StrCat(NodeContext(node), ": zero point is not a constant"));
  p.dtype = zp ? zp->dtype : (is_q ? DType::kU8 : in[0].dtype);
  if (!IsQuantType(p.dtype) && !(p.dtype == DType::kS32 && !is_q))
    return NodeError(node, absl::StrCat("zero point must be int8 or uint8, got ", std::string(Name(p.dtype))));
  if (zp && zp->value->num_elements() != scale.num_elements())
    return NodeError(node, absl::StrCat("zero point has ", zp->value->num_elements(), " elements, scale has ",
                                        scale.num_elements()));
  for (int64_t i = 0; i < scale.num_elements(); ++i) {
    const float s = scale.data<float>()[i];
    if (!(s > 0) || !std::isfinite(s)) return NodeError(node, absl::StrCat("scale[", i, "] is ", s, ", must be > 0"));
    p.scale.push_back(s);
    p.zero_point.push_back(zp ? ReadInt(*zp->value, i) : 0);
  }
  if (scale.rank() == 1 && scale.num_elements() > 1) {
    QB_ASSIGN_OR_RETURN(int64_t axis, WithNode(node, node.attrs.GetInt("axis", 1)));
    QB_ASSIGN_OR_RETURN(p.axis, NormalizeAxis(node, axis, rank));
    const Shape& x = in[0].shape;
    if (static_cast<int>(x.size()) == rank && x[p.axis] != kDynamicDim && x[p.axis] != scale.num_elements())
      return NodeError(node, absl::StrCat("scale has ", scale.num_elements(), " elements but axis ", p.axis,
                                          " of the input has ", x[p.axis]));
  }
  const int32_t lo = p.dtype == DType::kS8 ? -128 : p.dtype == DType::kU8 ? 0 : INT32_MIN;
  const int32_t hi = p.dtype == DType::kS8 ? 127 : p.dtype == DType::kU8 ? 255 : INT32_MAX;
  QB_ASSIGN_OR_RETURN(int64_t qmin, WithNode(node, node.attrs.GetInt("__qmin", lo)));
  QB_ASSIGN_OR_RETURN(int64_t qmax, WithNode(node, node.attrs.GetInt("__qmax", hi)));
  if (qmin < lo || qmax > hi || qmin >= qmax)
    return NodeError(node, absl::StrCat("grid [", qmin, ", ", qmax, "] does not fit ", std::string(Name(p.dtype))));
  p.qmin = static_cast<int32_t>(qmin);
  p.qmax = static_cast<int32_t>(qmax);
  p.bits = static_cast<int>(std::ceil(std::log2(static_cast<double>(qmax) - qmin + 1)));
  for (int32_t z : p.zero_point)
    if (z < p.qmin || z > p.qmax) return NodeError(node, absl::StrCat("zero point ", z, " is outside the grid"));
  return p;
}

Tensor DequantizeWith(const Tensor& q, const QuantParams& p) {
  Tensor y(DType::kF32, q.shape());
  float* dst = y.data<float>();
  for (int64_t i = 0; i < q.num_elements(); ++i) {
    const int64_t c = ChannelOf(p, q.shape(), i);
    dst[i] = DequantizeValue(ReadInt(q, i), p.scale[c], p.zero_point[c]);
  }
  return y;
}

void QuantizeInto(const Tensor& x, const QuantParams& p, Tensor* out) {
  if (out->empty() || out->dtype() != p.dtype || out->shape() != x.shape()) *out = Tensor(p.dtype, x.shape());
  const float* src = x.data<float>();
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    const int64_t c = ChannelOf(p, x.shape(), i);
    const int32_t q = QuantizeValue(src[i], p.scale[c], p.zero_point[c], p.qmin, p.qmax);
    if (p.dtype == DType::kS8) out->data<int8_t>()[i] = static_cast<int8_t>(q);
    else out->data<uint8_t>()[i] = static_cast<uint8_t>(q);
  }
}

namespace {

absl::Status InferQuantize(const Node& node, std::span<const TensorMeta> in, std::span<TensorMeta> out) {
  QB_RETURN_IF_ERROR(RequireFloat(node, in, 0));
  if (HasInput(in, 2) && !IsQuantType(in[2].dtype))
    return NodeError(node, absl::StrCat("zero point must be int8 or uint8, got ", std::string(Name(in[2].dtype))));
  out[0].dtype = HasInput(in, 2) ? in[2].dtype : DType::kU8;
  out[0].shape = in[0].shape;
  return absl::OkStatus();
}

absl::Status InferDequantize(const Node& node, std::span<const TensorMeta> in, std::span<TensorMeta> out) {
  if (!HasInput(in, 0) || !(IsQuantType(in[0].dtype) || in[0].dtype == DType::kS32))
    return NodeError(node, "input 0 must be int8, uint8 or int32");
  out[0].dtype = DType::kF32;
  out[0].shape = in[0].shape;
  return absl::OkStatus();
}

absl::Status ReferenceQuantize(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  QB_ASSIGN_OR_RETURN(QuantParams p, QdqParams(node, MetasOf(in), in[0].rank()));
  QuantizeInto(in[0], p, &out[0]);
  return absl::OkStatus();
}

absl::Status ReferenceDequantize(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  QB_ASSIGN_OR_RETURN(QuantParams p, QdqParams(node, MetasOf(in), in[0].rank()));
  out[0] = DequantizeWith(in[0], p);
  return absl::OkStatus();
}

// DynamicQuantizeLinear: u8 with scale = (max(0, max x) - min(0, min x)) / 255 and
// zero point = saturate(round(-min / scale)), computed from this very tensor.
absl::Status InferDynamicQuantize(const Node& node, std::span<const TensorMeta> in, std::span<TensorMeta> out) {
  QB_RETURN_IF_ERROR(RequireFloat(node, in, 0));
  out[0] = {DType::kU8, in[0].shape};
  if (out.size() > 1) out[1] = {DType::kF32, {}};
  if (out.size() > 2) out[2] = {DType::kU8, {}};
  return absl::OkStatus();
}

absl::Status ReferenceDynamicQuantize(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  const float* x = in[0].data<float>();
  float lo = 0.f, hi = 0.f;
  for (int64_t i = 0; i < in[0].num_elements(); ++i) {
    if (!std::isfinite(x[i])) return NodeError(node, absl::StrCat("input element ", i, " is ", x[i]));
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  float scale = (hi - lo) / 255.f;
  if (scale == 0.f) scale = 1.f;
  const int32_t zp = static_cast<int32_t>(std::clamp(std::nearbyint(-lo / scale), 0.f, 255.f));
  for (int64_t i = 0; i < in[0].num_elements(); ++i)
    out[0].data<uint8_t>()[i] = static_cast<uint8_t>(QuantizeValue(x[i], scale, zp, 0, 255));
  if (out.size() > 1) out[1].data<float>()[0] = scale;
  if (out.size() > 2) out[2].data<uint8_t>()[0] = static_cast<uint8_t>(zp);
  return absl::OkStatus();
}

constexpr AttrSpec kQAttrs[] = {{"axis"}, {"__qmin"}, {"__qmax"}};
constexpr AttrSpec kDqAttrs[] = {{"axis"}};

}  // namespace

extern const OpDef kQuantizeLinearDef = {"QuantizeLinear", 10, 17, kQAttrs, 2, 3, InferQuantize, ReferenceQuantize};
extern const OpDef kDequantizeLinearDef = {"DequantizeLinear", 10, 17, kDqAttrs, 2, 3, InferDequantize,
                                           ReferenceDequantize};
extern const OpDef kDynamicQuantizeLinearDef = {"DynamicQuantizeLinear", 11, 17, {}, 1, 1, InferDynamicQuantize,
                                                ReferenceDynamicQuantize};

}  // namespace qbench
