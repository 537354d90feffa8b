// BatchNormalization op definition (inference mode) and the BN-folding helper.
#include "engine/ops/batch_norm.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/reference/batch_norm.h"
#include "engine/ops/nn_util.h"
#include "engine/ops/op_util.h"

namespace qbench {
namespace {

constexpr const char* kStatNames[] = {"X", "scale", "B", "mean", "var"};

// The attribute checks shared by ParseBatchNorm and BatchNormFoldFactors.
absl::Status ParseBatchNormAttrs(const Node& node, BatchNormParams* p) {
  QB_ASSIGN_OR_RETURN(p->epsilon, WithNode(node, node.attrs.GetFloat("epsilon", 1e-5f)));
  QB_ASSIGN_OR_RETURN(p->momentum, WithNode(node, node.attrs.GetFloat("momentum", 0.9f)));
  if (!(p->epsilon >= 0.f))
    return NodeError(node, absl::StrCat("attribute \"epsilon\" must be >= 0, got ", p->epsilon));
  QB_ASSIGN_OR_RETURN(int64_t training_mode, WithNode(node, node.attrs.GetInt("training_mode", 0)));
  if (training_mode != 0)
    return NodeUnimplemented(node, absl::StrCat("attribute \"training_mode\" = ", training_mode,
                                                ": only inference mode (training_mode = 0) is supported"));
  // Opset 6 runs in training mode (batch statistics) unless is_test = 1; opset 7 dropped
  // is_test and means inference whenever only Y is requested.
  QB_ASSIGN_OR_RETURN(int64_t opset, WithNode(node, node.attrs.GetInt("__opset", 17)));
  QB_ASSIGN_OR_RETURN(int64_t is_test, WithNode(node, node.attrs.GetInt("is_test", opset < 7 ? 0 : 1)));
  if (is_test == 0)
    return NodeUnimplemented(node, "attribute \"is_test\" = 0 (training mode, opset 6): only inference mode "
                                   "(is_test = 1) is supported");
  QB_ASSIGN_OR_RETURN(int64_t spatial, WithNode(node, node.attrs.GetInt("spatial", 1)));
  if (spatial != 1)
    return NodeUnimplemented(node, absl::StrCat("attribute \"spatial\" = ", spatial,
                                                ": only per-channel statistics (spatial = 1) are supported"));
  for (size_t i = 1; i < node.outputs.size(); ++i)
    if (node.outputs[i] >= 0)
      return NodeUnimplemented(node, absl::StrCat("output ", i, " (running or saved mean/variance) is only "
                                                  "produced in training mode, which is not supported"));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BatchNormParams> ParseBatchNorm(const Node& node, std::span<const TensorMeta> in) {
  BatchNormParams p;
  QB_RETURN_IF_ERROR(ParseBatchNormAttrs(node, &p));
  for (int i = 0; i < 5; ++i) QB_RETURN_IF_ERROR(RequireFloat(node, in, i));
  const Shape& x = in[0].shape;
  if (x.size() < 2)
    return NodeError(node, absl::StrCat("input X must have rank >= 2 ([N, C, ...]), got ", ShapeToString(x)));
  p.batch = x[0];
  p.channels = x[1];
  p.spatial = DimProduct(x, 2, x.size());
  for (int i = 1; i < 5; ++i) {
    const Shape& s = in[i].shape;
    if (s.size() != 1 || (s[0] != p.channels && s[0] != kDynamicDim && p.channels != kDynamicDim))
      return NodeError(node, absl::StrCat("input ", kStatNames[i], " has shape ", ShapeToString(s), ", expected [",
                                          p.channels, "] (one value per channel of X ", ShapeToString(x), ")"));
  }
  return p;
}

absl::StatusOr<BatchNormAffine> BatchNormFoldFactors(const Node& node, const Tensor& scale, const Tensor& bias,
                                                     const Tensor& mean, const Tensor& var) {
  BatchNormParams p;
  QB_RETURN_IF_ERROR(ParseBatchNormAttrs(node, &p));
  const Tensor* stats[] = {&scale, &bias, &mean, &var};
  const int64_t c = scale.num_elements();
  for (int i = 0; i < 4; ++i) {
    const Tensor& t = *stats[i];
    if (t.empty() || t.dtype() != DType::kF32 || t.rank() != 1 || t.dim(0) != c)
      return NodeError(node, absl::StrCat("input ", kStatNames[i + 1], " must be a float32 [", c,
                                          "] constant to fold, got ", t.empty() ? "none" : t.DebugString()));
  }
  BatchNormAffine f;
  f.multiplier.resize(c);
  f.shift.resize(c);
  const float *g = scale.data<float>(), *b = bias.data<float>(), *m = mean.data<float>(), *v = var.data<float>();
  for (int64_t i = 0; i < c; ++i) {
    const double mult = g[i] / std::sqrt(static_cast<double>(v[i]) + p.epsilon);
    f.multiplier[i] = static_cast<float>(mult);
    f.shift[i] = static_cast<float>(b[i] - m[i] * mult);
  }
  return f;
}

namespace {

absl::Status InferBatchNorm(const Node& node, std::span<const TensorMeta> in, std::span<TensorMeta> out) {
  QB_RETURN_IF_ERROR(ParseBatchNorm(node, in).status());
  out[0].dtype = DType::kF32;
  out[0].shape = in[0].shape;
  // Omitted optional outputs (id -1; present ones were rejected above): empty tensors.
  for (size_t i = 1; i < out.size(); ++i) out[i] = {DType::kF32, Shape{0}};
  return absl::OkStatus();
}

absl::Status ReferenceBatchNormOp(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  QB_ASSIGN_OR_RETURN(BatchNormParams p, ParseBatchNorm(node, MetaOf(in)));
  ReferenceBatchNorm(p, in[0].data<float>(), in[1].data<float>(), in[2].data<float>(), in[3].data<float>(),
                     in[4].data<float>(), out[0].data<float>());
  return absl::OkStatus();
}

constexpr AttrSpec kBatchNormAttrs[] = {{"epsilon"}, {"is_test"}, {"momentum"}, {"spatial"}, {"training_mode"}};

}  // namespace

// Opset 6 has "is_test" (only 1 supported), 6-8 "spatial" (only 1 supported), 9 dropped
// spatial, 14 added "training_mode" (only 0 supported), 15 only widened the statistics'
// types. Opsets 1-5 also had "consumed_inputs" and are not implemented.
extern const OpDef kBatchNormalizationDef = {"BatchNormalization", 6, 17, kBatchNormAttrs, 5, 5, InferBatchNorm,
                                            ReferenceBatchNormOp};

}  // namespace qbench
