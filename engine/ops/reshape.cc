#include "engine/ops/reshape.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/ops/op_util.h"
#include "engine/ops/tensor_util.h"

namespace qbench {

absl::StatusOr<Shape> ResolveReshape(const Node& node, const Shape& in, const std::vector<int64_t>& target,
                                     bool allowzero) {
  const int rank = static_cast<int>(target.size());
  Shape out(rank);
  std::vector<bool> copied(rank, false);  // out[i] = in[i] through a 0
  int inferred = -1;                      // position of the -1
  bool has_zero = false;
  for (int i = 0; i < rank; ++i) {
    const int64_t t = target[i];
    if (t == -1) {
      if (inferred >= 0) return NodeError(node, absl::StrCat("shape ", IntsToString(target), " has more than one -1"));
      inferred = i;
    } else if (t < -1) {
      return NodeError(node, absl::StrCat("shape has invalid dim ", t, " at position ", i));
    } else if (t == 0 && !allowzero) {
      if (i >= static_cast<int>(in.size()))
        return NodeError(node, absl::StrCat("shape has 0 (copy the input dim) at position ", i, " but the input ",
                                            ShapeToString(in), " has rank ", in.size()));
      out[i] = in[i];
      copied[i] = true;
    } else {
      has_zero |= t == 0;
      out[i] = t;
    }
  }
  if (allowzero && has_zero && inferred >= 0)
    return NodeError(node, "shape has both 0 and -1 with allowzero=1");
  if (inferred >= 0) {
    // -1 = (input elements) / (other output elements). A dim copied to its own position
    // appears on both sides and cancels, so a copied dynamic (or zero) dim is harmless.
    int64_t in_count = 1, out_count = 1;
    bool in_dynamic = false;
    for (size_t j = 0; j < in.size(); ++j) {
      if (j < copied.size() && copied[j]) continue;
      if (in[j] == kDynamicDim) in_dynamic = true;
      else in_count *= in[j];
    }
    for (int j = 0; j < rank; ++j)
      if (j != inferred && !copied[j]) out_count *= out[j];
    if (in_dynamic) {
      out[inferred] = kDynamicDim;
    } else if (out_count == 0 || in_count % out_count != 0) {
      return NodeError(node, absl::StrCat("cannot reshape ", ShapeToString(in), " to ", IntsToString(target),
                                          ": -1 cannot be inferred"));
    } else {
      out[inferred] = in_count / out_count;
    }
  } else if (IsStatic(in) && IsStatic(out) && NumElements(in) != NumElements(out)) {
    return NodeError(node, absl::StrCat("cannot reshape ", ShapeToString(in), " (", NumElements(in),
                                        " elements) to ", ShapeToString(out), " (", NumElements(out), ")"));
  }
  return out;
}

absl::StatusOr<Shape> ParseReshape(const Node& node, std::span<const TensorMeta> in) {
  if (!HasInput(in, 1)) return NodeError(node, "input 1 (shape) is required");
  QB_ASSIGN_OR_RETURN(std::vector<int64_t> target, ConstantInts(node, in[1], "shape"));
  if (in[1].shape.size() != 1)
    return NodeError(node, absl::StrCat("input \"shape\" must be 1-D, got ", ShapeToString(in[1].shape)));
  QB_ASSIGN_OR_RETURN(int64_t allowzero, WithNode(node, node.attrs.GetInt("allowzero", 0)));
  if (allowzero != 0 && allowzero != 1)
    return NodeError(node, absl::StrCat("attribute \"allowzero\" must be 0 or 1, got ", allowzero));
  return ResolveReshape(node, in[0].shape, target, allowzero == 1);
}

absl::StatusOr<Shape> ParseFlatten(const Node& node, std::span<const TensorMeta> in) {
  const Shape& x = in[0].shape;
  const int rank = static_cast<int>(x.size());
  QB_ASSIGN_OR_RETURN(int64_t axis, WithNode(node, node.attrs.GetInt("axis", 1)));
  // Unlike most axes, axis == rank is valid here: [prod(all), 1].
  if (axis < -rank || axis > rank)
    return NodeError(node, absl::StrCat("attribute \"axis\" ", axis, " out of range [", -rank, ", ", rank,
                                        "] for input ", ShapeToString(x)));
  if (axis < 0) axis += rank;
  const std::span<const int64_t> dims(x);
  return Shape{ProductOrDynamic(dims.first(axis)), ProductOrDynamic(dims.subspan(axis))};
}

namespace {

// Normalizes axes into [0, rank) and rejects repeats.
absl::StatusOr<std::vector<int>> NormalizeAxes(const Node& node, const std::vector<int64_t>& axes, int rank) {
  std::vector<int> out;
  for (int64_t a : axes) {
    QB_ASSIGN_OR_RETURN(int n, NormalizeAxis(node, a, rank));
    if (std::find(out.begin(), out.end(), n) != out.end())
      return NodeError(node, absl::StrCat("axes ", IntsToString(axes), " repeat axis ", a));
    out.push_back(n);
  }
  return out;
}

}  // namespace

absl::StatusOr<Shape> ParseSqueeze(const Node& node, std::span<const TensorMeta> in) {
  const Shape& x = in[0].shape;
  const int rank = static_cast<int>(x.size());
  bool given = false;
  QB_ASSIGN_OR_RETURN(std::vector<int64_t> axes, IntsFromInputOrAttribute(node, in, 1, "axes", &given));
  std::vector<bool> drop(rank, false);
  if (axes.empty()) {  // not given, or given empty (as ONNX Runtime reads it): drop every 1
    for (int i = 0; i < rank; ++i) {
      if (x[i] == kDynamicDim)
        return absl::FailedPreconditionError(absl::StrCat(NodeContext(node), ": no axes given and dim ", i,
                                                          " of ", ShapeToString(x), " is not known yet"));
      drop[i] = x[i] == 1;
    }
  } else {
    if (rank == 0 && !axes.empty()) return NodeError(node, "cannot squeeze a scalar");
    QB_ASSIGN_OR_RETURN(std::vector<int> norm, NormalizeAxes(node, axes, rank));
    for (int a : norm) {
      // A dynamic dim is taken to be 1 here; the reference kernel sees it concrete.
      if (x[a] != 1 && x[a] != kDynamicDim)
        return NodeError(node, absl::StrCat("cannot squeeze axis ", a, " of size ", x[a], " in ", ShapeToString(x)));
      drop[a] = true;
    }
  }
  Shape out;
  for (int i = 0; i < rank; ++i)
    if (!drop[i]) out.push_back(x[i]);
  return out;
}

absl::StatusOr<Shape> ParseUnsqueeze(const Node& node, std::span<const TensorMeta> in) {
  const Shape& x = in[0].shape;
  bool given = false;
  QB_ASSIGN_OR_RETURN(std::vector<int64_t> axes, IntsFromInputOrAttribute(node, in, 1, "axes", &given));
  if (!given) return NodeError(node, "\"axes\" (attribute or input 1) is required");
  const int out_rank = static_cast<int>(x.size() + axes.size());
  QB_ASSIGN_OR_RETURN(std::vector<int> norm, NormalizeAxes(node, axes, out_rank));
  std::vector<bool> inserted(out_rank, false);
  for (int a : norm) inserted[a] = true;
  Shape out(out_rank);
  for (int i = 0, next = 0; i < out_rank; ++i) out[i] = inserted[i] ? 1 : x[next++];
  return out;
}

namespace {

using ShapeParser = absl::StatusOr<Shape> (*)(const Node&, std::span<const TensorMeta>);

// Inference of a view op: same element type, the parsed shape.
template <ShapeParser kParse>
absl::Status InferView(const Node& node, std::span<const TensorMeta> in, std::span<TensorMeta> out) {
  if (!HasInput(in, 0)) return NodeError(node, "input 0 is required");
  QB_ASSIGN_OR_RETURN(out[0].shape, kParse(node, in));
  out[0].dtype = in[0].dtype;
  return absl::OkStatus();
}

constexpr AttrSpec kReshapeAttrs[] = {{"allowzero"}};
constexpr AttrSpec kAxisAttrs[] = {{"axis"}};
constexpr AttrSpec kAxesAttrs[] = {{"axes"}};

}  // namespace

// Reshape took its shape as an attribute before opset 5; Squeeze/Unsqueeze moved axes to
// an input at 13 (both forms accepted, see IntsFromInputOrAttribute).
extern const OpDef kReshapeDef = {"Reshape", 5, 17, kReshapeAttrs, 2, 2, InferView<ParseReshape>, CopyInputToOutput};
extern const OpDef kFlattenDef = {"Flatten", 1, 17, kAxisAttrs, 1, 1, InferView<ParseFlatten>, CopyInputToOutput};
extern const OpDef kSqueezeDef = {"Squeeze", 1, 17, kAxesAttrs, 1, 2, InferView<ParseSqueeze>, CopyInputToOutput};
extern const OpDef kUnsqueezeDef = {"Unsqueeze", 1, 17, kAxesAttrs, 1, 2, InferView<ParseUnsqueeze>,
                                    CopyInputToOutput};

}  // namespace qbench
