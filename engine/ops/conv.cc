#include "engine/ops/conv.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/reference/conv.h"
#include "engine/ops/op_util.h"

namespace qbench {

absl::StatusOr<ConvParams> ParseConv(const Node& node, std::span<const TensorMeta> in) {
  QB_RETURN_IF_ERROR(RequireFloat(node, in, 0));
  QB_RETURN_IF_ERROR(RequireFloat(node, in, 1));
  const Shape& x = in[0].shape;
  const Shape& w = in[1].shape;
  if (x.size() < 3 || x.size() > 5)
    return NodeUnimplemented(node, absl::StrCat("input X has rank ", x.size(), "; 1D, 2D and 3D convolutions only"));
  if (w.size() != x.size())
    return NodeError(node, absl::StrCat("weights W have rank ", w.size(), ", input X has rank ", x.size()));
  ConvParams p;
  p.batch = x[0];
  p.in_channels = x[1];
  p.out_channels = w[0];
  QB_ASSIGN_OR_RETURN(p.group, node.attrs.GetInt("group", 1));
  // In 64 bits before any product: W's channels times group must not wrap.
  if (p.group < 1 || p.group > kMaxWindowValue)
    return NodeError(node, absl::StrCat("attribute \"group\" must be in [1, ", kMaxWindowValue, "], got ", p.group));
  if (p.in_channels != kDynamicDim && (p.in_channels % p.group != 0 || p.in_channels / p.group != w[1]))
    return NodeError(node, absl::StrCat("input has ", p.in_channels, " channels but W expects ", w[1], " x group ",
                                        p.group));
  if (p.out_channels % p.group != 0)
    return NodeError(node, absl::StrCat("W has ", p.out_channels, " output channels, not a multiple of group ",
                                        p.group));
  std::vector<int64_t> kernel(w.begin() + 2, w.end());
  QB_ASSIGN_OR_RETURN(std::vector<int64_t> kshape, node.attrs.GetInts("kernel_shape", kernel));
  if (kshape != kernel)
    return NodeError(node, absl::StrCat("attribute \"kernel_shape\" ", ShapeToString(kshape),
                                        " does not match W ", ShapeToString(w)));
  p.in_spatial.assign(x.begin() + 2, x.end());
  QB_ASSIGN_OR_RETURN(p.window, ResolveWindow(node, p.in_spatial, kernel, /*has_dilations=*/true, false));
  p.has_bias = in.size() > 2 && in[2].present;
  if (p.has_bias) {
    QB_RETURN_IF_ERROR(RequireFloat(node, in, 2));
    if (in[2].shape != Shape{p.out_channels})
      return NodeError(node, absl::StrCat("bias B has shape ", ShapeToString(in[2].shape), ", expected [",
                                          p.out_channels, "]"));
  }
  return p;
}

namespace {

absl::Status InferConv(const Node& node, std::span<const TensorMeta> in, std::span<TensorMeta> out) {
  QB_ASSIGN_OR_RETURN(ConvParams p, ParseConv(node, in));
  out[0].dtype = DType::kF32;
  out[0].shape = {p.batch, p.out_channels};
  out[0].shape.insert(out[0].shape.end(), p.window.out.begin(), p.window.out.end());
  return absl::OkStatus();
}

absl::Status ReferenceConvOp(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  std::vector<TensorMeta> meta(in.size());
  for (size_t i = 0; i < in.size(); ++i) meta[i] = {in[i].dtype(), in[i].shape(), &in[i], !in[i].empty()};
  QB_ASSIGN_OR_RETURN(ConvParams p, ParseConv(node, meta));
  ReferenceConv(p, in[0].data<float>(), in[1].data<float>(), p.has_bias ? in[2].data<float>() : nullptr,
                out[0].data<float>());
  return absl::OkStatus();
}

constexpr AttrSpec kConvAttrs[] = {{"auto_pad"}, {"dilations"}, {"group"}, {"kernel_shape"}, {"pads"}, {"strides"}};

}  // namespace

extern const OpDef kConvDef = {"Conv", 1, 17, kConvAttrs, 2, 3, InferConv, ReferenceConvOp};

}  // namespace qbench
