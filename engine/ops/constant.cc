#include "engine/ops/constant.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/ops/op_util.h"
#include "engine/ops/tensor_util.h"

namespace qbench {
namespace {

constexpr const char* kValueAttrs[] = {"value",      "value_float",   "value_floats", "value_int",
                                       "value_ints", "value_string", "value_strings", "sparse_value"};

}  // namespace

absl::StatusOr<Tensor> ParseConstant(const Node& node) {
  const char* which = nullptr;
  for (const char* name : kValueAttrs) {
    if (!node.attrs.Has(name)) continue;
    if (which != nullptr)
      return NodeError(node,
                       absl::StrCat("has both attribute \"", which, "\" and \"", name, "\"; exactly one is allowed"));
    which = name;
  }
  if (which == nullptr) return NodeError(node, "needs one of the attributes value, value_float(s), value_int(s)");
  const std::string name = which;
  if (name == "value") return WithNode(node, node.attrs.GetTensor(name));
  if (name == "value_float") {
    QB_ASSIGN_OR_RETURN(float v, WithNode(node, node.attrs.GetFloat(name, 0.f)));
    return Tensor::Scalar(v);
  }
  if (name == "value_floats") {
    QB_ASSIGN_OR_RETURN(std::vector<float> v, WithNode(node, node.attrs.GetFloats(name)));
    if (v.empty()) return Tensor(DType::kF32, {0});
    return Tensor::FromFloats({static_cast<int64_t>(v.size())}, v);
  }
  if (name == "value_int") {
    QB_ASSIGN_OR_RETURN(int64_t v, WithNode(node, node.attrs.GetInt(name, 0)));
    return Tensor::FromInt64s({}, {v});
  }
  if (name == "value_ints") {
    QB_ASSIGN_OR_RETURN(std::vector<int64_t> v, WithNode(node, node.attrs.GetInts(name)));
    if (v.empty()) return Tensor(DType::kS64, {0});
    return Tensor::FromInt64s({static_cast<int64_t>(v.size())}, v);
  }
  return NodeUnimplemented(node,
                           absl::StrCat("attribute \"", name, "\": string and sparse constants are not supported"));
}

absl::StatusOr<ShapeSlice> ParseShape(const Node& node, std::span<const TensorMeta> in) {
  if (!HasInput(in, 0)) return NodeError(node, "input 0 is required");
  const int64_t rank = static_cast<int64_t>(in[0].shape.size());
  QB_ASSIGN_OR_RETURN(int64_t start, WithNode(node, node.attrs.GetInt("start", 0)));
  QB_ASSIGN_OR_RETURN(int64_t end, WithNode(node, node.attrs.GetInt("end", rank)));
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  return ShapeSlice{static_cast<int>(start), static_cast<int>(std::max(start, end))};
}

namespace {

absl::Status InferConstant(const Node& node, std::span<const TensorMeta> in, std::span<TensorMeta> out) {
  QB_ASSIGN_OR_RETURN(Tensor t, ParseConstant(node));
  out[0].dtype = t.dtype();
  out[0].shape = t.shape();
  return absl::OkStatus();
}

absl::Status ReferenceConstant(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  QB_ASSIGN_OR_RETURN(Tensor t, ParseConstant(node));
  if (t.dtype() != out[0].dtype() || t.shape() != out[0].shape())
    return NodeError(node, "output does not match the attribute's tensor");
  if (t.nbytes() > 0) std::memcpy(out[0].raw(), t.raw(), t.nbytes());
  return absl::OkStatus();
}

absl::Status InferShape(const Node& node, std::span<const TensorMeta> in, std::span<TensorMeta> out) {
  QB_ASSIGN_OR_RETURN(ShapeSlice s, ParseShape(node, in));
  out[0].dtype = DType::kS64;
  out[0].shape = {s.end - s.start};
  return absl::OkStatus();
}

absl::Status ReferenceShape(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  QB_ASSIGN_OR_RETURN(ShapeSlice s, ParseShape(node, MetasOf(in)));
  int64_t* dims = out[0].data<int64_t>();
  for (int k = s.start; k < s.end; ++k) dims[k - s.start] = in[0].shape()[k];
  return absl::OkStatus();
}

constexpr AttrSpec kConstantAttrs[] = {{"value"},      {"value_float"},   {"value_floats"},  {"value_int"},
                                       {"value_ints"}, {"value_string"}, {"value_strings"}, {"sparse_value"}};
constexpr AttrSpec kShapeAttrs[] = {{"start"}, {"end"}};

}  // namespace

// Constant: value only up to 11, sparse_value at 11, value_* at 12. Shape: start/end at 15.
extern const OpDef kConstantDef = {"Constant", 1, 17, kConstantAttrs, 0, 0, InferConstant, ReferenceConstant};
extern const OpDef kShapeDef = {"Shape", 1, 17, kShapeAttrs, 1, 1, InferShape, ReferenceShape};

}  // namespace qbench
