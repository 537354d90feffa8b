// Small helpers shared by the nn-family op definitions (Gemm, MatMul, BatchNormalization,
// pooling, Softmax): attribute reads whose errors name the node, dim products that keep
// dynamic dims dynamic, and the Tensor -> TensorMeta view the reference wrappers need.
#pragma once

#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "common/status.h"
#include "engine/ops/op_def.h"
#include "engine/ops/op_util.h"

namespace qbench {

// Attributes::Get* errors name the attribute but not the node; this prefixes the node.
//   QB_ASSIGN_OR_RETURN(int64_t axis, WithNode(node, node.attrs.GetInt("axis", 1)));
template <class T>
absl::StatusOr<T> WithNode(const Node& node, absl::StatusOr<T> v) {
  if (!v.ok()) return Annotate(v.status(), NodeContext(node));
  return v;
}

// Product of shape[begin, end); kDynamicDim if any of those dims is dynamic; 1 if empty.
inline int64_t DimProduct(const Shape& shape, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t i = begin; i < end; ++i) {
    if (shape[i] == kDynamicDim) return kDynamicDim;
    n *= shape[i];
  }
  return n;
}

// Metadata for concrete reference-kernel inputs (an empty Tensor is an omitted input).
inline std::vector<TensorMeta> MetaOf(std::span<const Tensor> in) {
  std::vector<TensorMeta> meta(in.size());
  for (size_t i = 0; i < in.size(); ++i) meta[i] = {in[i].dtype(), in[i].shape(), &in[i], !in[i].empty()};
  return meta;
}

// True when input i exists and is not an omitted optional input.
inline bool HasInput(std::span<const TensorMeta> in, int i) {
  return i < static_cast<int>(in.size()) && in[i].present;
}

}  // namespace qbench
