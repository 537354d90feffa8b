// Helpers shared by the tensor family (binary arithmetic, shape and data-movement ops):
// node-named attribute reads, "attribute or input" lists, and the byte-copy kernel of
// the view ops (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout).
#pragma once

#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/ops/op_def.h"
#include "engine/ops/op_util.h"

namespace qbench {

// TensorMetas describing concrete tensors (what a reference kernel re-parses from).
inline std::vector<TensorMeta> MetasOf(std::span<const Tensor> in) {
  std::vector<TensorMeta> meta(in.size());
  for (size_t i = 0; i < in.size(); ++i) meta[i] = {in[i].dtype(), in[i].shape(), &in[i], !in[i].empty()};
  return meta;
}

// Attributes' own errors ("attribute \"axis\" must be an int") do not know the node:
// re-issue them with the node's context.
template <class T>
absl::StatusOr<T> WithNode(const Node& node, absl::StatusOr<T> v) {
  if (!v.ok()) return absl::Status(v.status().code(), absl::StrCat(NodeContext(node), ": ", v.status().message()));
  return v;
}

// "[1,-1,0]": an int list as written (ShapeToString would print negatives as "?").
inline std::string IntsToString(const std::vector<int64_t>& v) { return absl::StrCat("[", absl::StrJoin(v, ","), "]"); }

inline bool HasInput(std::span<const TensorMeta> in, int i) {
  return i < static_cast<int>(in.size()) && in[i].present;
}

// A list of ints that moved from an attribute to an input across opsets (Squeeze/Unsqueeze
// "axes" at 13, Pad "pads" at 11). Without the opset we tell the forms apart by what the
// node carries: input `index` when present (it must then be a constant), else attribute
// `name`. Both at once is ambiguous and an error. *given is false when neither is there.
inline absl::StatusOr<std::vector<int64_t>> IntsFromInputOrAttribute(const Node& node, std::span<const TensorMeta> in,
                                                                     int index, const char* name, bool* given) {
  const bool has_attr = node.attrs.Has(name);
  *given = true;
  if (HasInput(in, index)) {
    if (has_attr)
      return NodeError(node, absl::StrCat("\"", name, "\" given both as attribute and as input ", index));
    return ConstantInts(node, in[index], name);
  }
  if (has_attr) return WithNode(node, node.attrs.GetInts(name));
  *given = false;
  return std::vector<int64_t>{};
}

// Product of dims, kDynamicDim if any is dynamic (1 for an empty range).
inline int64_t ProductOrDynamic(std::span<const int64_t> dims) {
  int64_t p = 1;
  for (int64_t d : dims) {
    if (d == kDynamicDim) return kDynamicDim;
    p *= d;
  }
  return p;
}

// The reference kernel of every op whose output holds the input's bytes unchanged (only
// the shape differs): any element type.
inline absl::Status CopyInputToOutput(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  if (out[0].nbytes() != in[0].nbytes() || out[0].dtype() != in[0].dtype())
    return NodeError(node, absl::StrCat("output ", ShapeToString(out[0].shape()), " does not hold the input ",
                                        ShapeToString(in[0].shape())));
  if (in[0].nbytes() > 0) std::memcpy(out[0].raw(), in[0].raw(), in[0].nbytes());
  return absl::OkStatus();
}

}  // namespace qbench
