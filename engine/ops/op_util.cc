#include "engine/ops/op_util.h"

#include <climits>

#include "absl/strings/str_cat.h"

namespace qbench {

std::string NodeContext(const Node& node) {
  return absl::StrCat("node \"", node.name, "\" (", node.op_type, ")");
}

absl::Status NodeError(const Node& node, const std::string& message) {
  return absl::InvalidArgumentError(absl::StrCat(NodeContext(node), ": ", message));
}

absl::Status NodeUnimplemented(const Node& node, const std::string& message) {
  return absl::UnimplementedError(absl::StrCat(NodeContext(node), ": ", message));
}

int64_t CheckedBytes(DType dtype, const Shape& shape) {
  int64_t bytes = static_cast<int64_t>(SizeOf(dtype));
  for (int64_t d : shape) {
    if (d < 0) return -1;  // kDynamicDim is negative too
    if (d != 0 && bytes > INT64_MAX / d) return -1;
    bytes *= d;
  }
  return bytes;
}

absl::StatusOr<int> NormalizeAxis(const Node& node, int64_t axis, int rank) {
  if (axis < -rank || axis >= std::max(rank, 1))
    return NodeError(node, absl::StrCat("axis ", axis, " out of range for rank ", rank));
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

absl::StatusOr<Shape> BroadcastShapes(const Node& node, const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == db || db == 1) out[i] = da;
    else if (da == 1) out[i] = db;
    else if (da == kDynamicDim || db == kDynamicDim) out[i] = std::max(da, db);  // the known one wins
    else
      return NodeError(node, absl::StrCat("shapes ", ShapeToString(a), " and ", ShapeToString(b),
                                          " cannot be broadcast"));
  }
  return out;
}

absl::StatusOr<std::vector<int64_t>> ConstantInts(const Node& node, const TensorMeta& meta, const char* what) {
  if (meta.value == nullptr)
    return absl::FailedPreconditionError(absl::StrCat(NodeContext(node), ": input \"", what,
                                                      "\" is not a constant"));
  const Tensor& t = *meta.value;
  std::vector<int64_t> v(t.num_elements());
  if (t.dtype() == DType::kS64) {
    for (int64_t i = 0; i < t.num_elements(); ++i) v[i] = t.data<int64_t>()[i];
  } else if (t.dtype() == DType::kS32) {
    for (int64_t i = 0; i < t.num_elements(); ++i) v[i] = t.data<int32_t>()[i];
  } else {
    return NodeError(node, absl::StrCat("input \"", what, "\" must be int64, got ", std::string(Name(t.dtype()))));
  }
  return v;
}

absl::Status RequireFloat(const Node& node, std::span<const TensorMeta> in, int i) {
  if (i >= static_cast<int>(in.size()) || !in[i].present)
    return NodeError(node, absl::StrCat("input ", i, " is required"));
  if (in[i].dtype != DType::kF32)
    return NodeUnimplemented(node, absl::StrCat("input ", i, " has type ", std::string(Name(in[i].dtype)),
                                                "; only float32 is supported"));
  return absl::OkStatus();
}

}  // namespace qbench
