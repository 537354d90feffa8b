// MaxPool, AveragePool and GlobalAveragePool op definitions.
#include "engine/ops/pool.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/reference/pool.h"
#include "engine/ops/nn_util.h"
#include "engine/ops/op_util.h"

namespace qbench {
namespace {

// Reads a 0/1 attribute; any other value is an error naming it.
absl::StatusOr<bool> GetFlag(const Node& node, const char* name) {
  QB_ASSIGN_OR_RETURN(int64_t v, WithNode(node, node.attrs.GetInt(name, 0)));
  if (v != 0 && v != 1) return NodeError(node, absl::StrCat("attribute \"", name, "\" must be 0 or 1, got ", v));
  return v == 1;
}

}  // namespace

absl::StatusOr<PoolParams> ParsePool(const Node& node, std::span<const TensorMeta> in) {
  QB_RETURN_IF_ERROR(RequireFloat(node, in, 0));
  const Shape& x = in[0].shape;
  if (x.size() < 3)
    return NodeError(node, absl::StrCat("input X must have rank >= 3 ([N, C, D1, ...]), got ", ShapeToString(x)));
  if (x.size() > 5)
    return NodeUnimplemented(node, absl::StrCat("input X has rank ", x.size(), "; 1D, 2D and 3D pooling only"));
  PoolParams p;
  p.global = node.op_type == "GlobalAveragePool";
  p.kind = node.op_type == "MaxPool" ? PoolKind::kMax : PoolKind::kAverage;
  p.batch = x[0];
  p.channels = x[1];
  p.in_spatial.assign(x.begin() + 2, x.end());
  p.count_include_pad = false;
  const size_t ns = p.in_spatial.size();
  if (p.global) {
    // One window over the whole extent: no attributes, output spatial dims all 1.
    Window& w = p.window;
    w.kernel = p.in_spatial;
    w.strides = w.dilations = w.out = std::vector<int64_t>(ns, 1);
    w.pads_begin = w.pads_end = std::vector<int64_t>(ns, 0);
    p.counted_pads_end = w.pads_end;
    return p;
  }
  if (!node.attrs.Has("kernel_shape")) return NodeError(node, "attribute \"kernel_shape\" is required");
  QB_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, WithNode(node, node.attrs.GetInts("kernel_shape")));
  if (kernel.size() != ns)
    return NodeError(node, absl::StrCat("attribute \"kernel_shape\" ", ShapeToString(kernel), " has ",
                                        kernel.size(), " dims, input X ", ShapeToString(x), " has ", ns,
                                        " spatial dims"));
  QB_ASSIGN_OR_RETURN(bool ceil_mode, GetFlag(node, "ceil_mode"));
  const bool is_max = p.kind == PoolKind::kMax;
  if (is_max) {
    if (node.outputs.size() > 1 && node.outputs[1] >= 0)
      return NodeUnimplemented(node, "the second output (Indices) is not supported");
    // storage_order only chooses how Indices are numbered; with no Indices output it has
    // no effect on Y, so both valid values are accepted.
    QB_RETURN_IF_ERROR(GetFlag(node, "storage_order").status());
  } else {
    QB_ASSIGN_OR_RETURN(p.count_include_pad, GetFlag(node, "count_include_pad"));
  }
  // Dilations: MaxPool from opset 10; AveragePool only from opset 19 (not supported).
  QB_ASSIGN_OR_RETURN(p.window, ResolveWindow(node, p.in_spatial, kernel, /*has_dilations=*/is_max, ceil_mode));
  p.counted_pads_end = p.window.pads_end;
  if (ceil_mode) {
    // The same geometry without ceil_mode gives the pads before ceil_mode grew them.
    QB_ASSIGN_OR_RETURN(Window floor_window, ResolveWindow(node, p.in_spatial, kernel, is_max, false));
    p.counted_pads_end = floor_window.pads_end;
  }
  return p;
}

namespace {

absl::Status InferPool(const Node& node, std::span<const TensorMeta> in, std::span<TensorMeta> out) {
  QB_ASSIGN_OR_RETURN(PoolParams p, ParsePool(node, in));
  out[0].dtype = DType::kF32;
  out[0].shape = {p.batch, p.channels};
  out[0].shape.insert(out[0].shape.end(), p.window.out.begin(), p.window.out.end());
  for (size_t i = 1; i < out.size(); ++i) out[i] = {DType::kS64, Shape{0}};  // omitted Indices
  return absl::OkStatus();
}

absl::Status ReferencePoolOp(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  QB_ASSIGN_OR_RETURN(PoolParams p, ParsePool(node, MetaOf(in)));
  ReferencePool(p, in[0].data<float>(), out[0].data<float>());
  return absl::OkStatus();
}

constexpr AttrSpec kMaxPoolAttrs[] = {{"auto_pad"}, {"ceil_mode"},    {"dilations"}, {"kernel_shape"},
                                      {"pads"},     {"storage_order"}, {"strides"}};
constexpr AttrSpec kAveragePoolAttrs[] = {{"auto_pad"}, {"ceil_mode"}, {"count_include_pad"},
                                          {"kernel_shape"}, {"pads"}, {"strides"}};
constexpr AttrSpec kNoAttrs[] = {{"__none__"}};

}  // namespace

// MaxPool: 8 added storage_order and Indices, 10 dilations and ceil_mode, 11 only clarified
// pads, 12 added int8 types. AveragePool: 7 added count_include_pad, 10 ceil_mode, 11 only
// clarified pads (19 adds dilations: out of range). Each addition defaults to the older
// behaviour, so opset 1 nodes mean the same. GlobalAveragePool never changed.
extern const OpDef kMaxPoolDef = {"MaxPool", 1, 17, kMaxPoolAttrs, 1, 1, InferPool, ReferencePoolOp};
extern const OpDef kAveragePoolDef = {"AveragePool", 1, 17, kAveragePoolAttrs, 1, 1, InferPool, ReferencePoolOp};
extern const OpDef kGlobalAveragePoolDef = {"GlobalAveragePool", 1, 17, std::span(kNoAttrs, 0), 1, 1, InferPool,
                                            ReferencePoolOp};

}  // namespace qbench
