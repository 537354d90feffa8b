// Standalone inference BatchNormalization (one the folding pass could not merge into a
// Conv/Gemm) as one oneDNN batch_normalization_forward primitive with the running
// statistics supplied (use_global_stats) and the affine parameters (use_scale, use_shift):
//   y[n, c, ...] = scale[c] * (x[n, c, ...] - mean[c]) / sqrt(var[c] + epsilon) + B[c].
// The normalization is per channel and elementwise otherwise, so the input is taken in
// the layout it arrives in (blocked or plain) and the output has the same layout.
// The four statistics tensors are [C] and plain; they may be constants or runtime values.
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/onednn/registry.h"
#include "engine/kernels/onednn/util.h"
#include "engine/ops/batch_norm.h"
#include "engine/ops/op_util.h"

namespace qbench {
namespace {

class OneDnnBatchNorm final : public Kernel {
 public:
  explicit OneDnnBatchNorm(DnnlContext* ctx) : ctx_(ctx) {}

  absl::Status Prepare(const Node& node, std::span<const RtMeta> in, std::vector<dnnl::memory::desc>* wanted,
                       std::vector<RtMeta>* out) override {
    QB_RETURN_IF_ERROR(RequireNoPostOps(node));
    QB_ASSIGN_OR_RETURN(BatchNormParams p, ParseBatchNorm(node, ParserMetas(node, in)));
    if (HasZeroDim(in[0].shape)) return NodeUnimplemented(node, "empty tensor");
    const auto flags = dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale |
                       dnnl::normalization_flags::use_shift;
    try {
      dnnl::batch_normalization_forward::desc d(dnnl::prop_kind::forward_inference, in[0].md, p.epsilon, flags);
      pd_ = dnnl::batch_normalization_forward::primitive_desc(d, ctx_->engine);
    } catch (const dnnl::error& e) {
      return NoPrimitive(node, "batch normalization", e);
    }
    prim_ = dnnl::batch_normalization_forward(pd_);
    (*wanted)[0] = pd_.src_desc();
    // Statistics arrive as plain [C] float32 (constants are bound plain by the executor).
    for (int i = 1; i < 5; ++i) (*wanted)[i] = PlainDesc(DType::kF32, in[i].shape);
    out->assign(1, RtMeta{DType::kF32, in[0].shape, pd_.dst_desc(), nullptr});
    for (size_t i = 1; i < node.outputs.size(); ++i)  // omitted training outputs
      out->push_back(RtMeta{DType::kF32, Shape{0}, PlainDesc(DType::kF32, Shape{0}), nullptr});
    return absl::OkStatus();
  }

  absl::Status Execute(std::span<const dnnl::memory> in, std::span<const dnnl::memory> out) override {
    prim_.execute(ctx_->stream, {{DNNL_ARG_SRC, in[0]},
                                 {DNNL_ARG_SCALE, in[1]},
                                 {DNNL_ARG_SHIFT, in[2]},
                                 {DNNL_ARG_MEAN, in[3]},
                                 {DNNL_ARG_VARIANCE, in[4]},
                                 {DNNL_ARG_DST, out[0]}});
    return absl::OkStatus();
  }

  std::string Implementation() const override { return pd_ ? pd_.impl_info_str() : "none"; }

 private:
  DnnlContext* ctx_;
  dnnl::batch_normalization_forward::primitive_desc pd_;
  dnnl::batch_normalization_forward prim_;
};

}  // namespace

std::unique_ptr<Kernel> MakeOneDnnBatchNorm(DnnlContext* ctx) { return std::make_unique<OneDnnBatchNorm>(ctx); }

}  // namespace qbench
