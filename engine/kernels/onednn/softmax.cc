// Softmax as one oneDNN softmax_forward primitive over the middle axis of the plain input
// viewed as [outer, n, inner] (ParseSoftmax's view, which covers both the single-axis
// semantics of opset 13 and the 2-D coercion of earlier opsets, where inner = 1):
//   y[o, i, j] = exp(x[o, i, j] - max_i x[o, :, j]) / sum_i exp(x[o, i, j] - max_i x[o, :, j]).
// The view is a reshape of row-major bytes, so input and output are plain.
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/onednn/registry.h"
#include "engine/kernels/onednn/util.h"
#include "engine/ops/op_util.h"
#include "engine/ops/softmax.h"

namespace qbench {
namespace {

class OneDnnSoftmax final : public Kernel {
 public:
  explicit OneDnnSoftmax(DnnlContext* ctx) : ctx_(ctx) {}

  absl::Status Prepare(const Node& node, std::span<const RtMeta> in, std::vector<dnnl::memory::desc>* wanted,
                       std::vector<RtMeta>* out) override {
    QB_RETURN_IF_ERROR(RequireNoPostOps(node));
    QB_ASSIGN_OR_RETURN(SoftmaxParams p, ParseSoftmax(node, ParserMetas(node, in)));
    if (HasZeroDim(in[0].shape)) return NodeUnimplemented(node, "empty tensor");
    view_md_ = PlainF32({p.outer, p.n, p.inner});
    try {
      dnnl::softmax_forward::desc d(dnnl::prop_kind::forward_inference, view_md_, 1);
      pd_ = dnnl::softmax_forward::primitive_desc(d, ctx_->engine);
    } catch (const dnnl::error& e) {
      return NoPrimitive(node, "softmax", e);
    }
    prim_ = dnnl::softmax_forward(pd_);
    src_ = MemoryView(view_md_, ctx_->engine);
    dst_ = MemoryView(view_md_, ctx_->engine);
    const dnnl::memory::desc plain = PlainDesc(DType::kF32, in[0].shape);
    (*wanted)[0] = plain;
    out->assign(1, RtMeta{DType::kF32, in[0].shape, plain, nullptr});
    return absl::OkStatus();
  }

  absl::Status Execute(std::span<const dnnl::memory> in, std::span<const dnnl::memory> out) override {
    prim_.execute(ctx_->stream, {{DNNL_ARG_SRC, src_.Of(in[0])}, {DNNL_ARG_DST, dst_.Of(out[0])}});
    return absl::OkStatus();
  }

  std::string Implementation() const override { return pd_ ? pd_.impl_info_str() : "none"; }

 private:
  DnnlContext* ctx_;
  dnnl::memory::desc view_md_;  // {outer, n, inner}, row-major
  MemoryView src_, dst_;
  dnnl::softmax_forward::primitive_desc pd_;
  dnnl::softmax_forward prim_;
};

}  // namespace

std::unique_ptr<Kernel> MakeOneDnnSoftmax(DnnlContext* ctx) { return std::make_unique<OneDnnSoftmax>(ctx); }

}  // namespace qbench
