// Standalone activations (Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSwish) as one oneDNN
// eltwise_forward primitive: y = f(x; alpha, beta) elementwise, with the ONNX attributes
// resolved by ParseActivation and mapped by the post-op table (EltwiseAlgorithm), so the
// standalone op and the fused post-op compute the same function.
//
// An elementwise op does not care about layout, so the input is taken as it arrives
// (a Conv's blocked nChw16c output stays blocked) and the output has the same layout.
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/onednn/post_ops.h"
#include "engine/kernels/onednn/registry.h"
#include "engine/kernels/onednn/util.h"
#include "engine/ops/activation.h"
#include "engine/ops/op_util.h"

namespace qbench {
namespace {

class OneDnnEltwise final : public Kernel {
 public:
  explicit OneDnnEltwise(DnnlContext* ctx) : ctx_(ctx) {}

  absl::Status Prepare(const Node& node, std::span<const RtMeta> in, std::vector<dnnl::memory::desc>* wanted,
                       std::vector<RtMeta>* out) override {
    QB_RETURN_IF_ERROR(RequireNoPostOps(node));
    if (in[0].dtype != DType::kF32) return NodeUnimplemented(node, "oneDNN eltwise takes float32 only");
    if (HasZeroDim(in[0].shape)) return NodeUnimplemented(node, "empty tensor");
    absl::StatusOr<ActivationParams> p = ParseActivation(node, ParserMetas(node, in));
    // Clip with runtime bounds: inference cannot resolve them here; the reference can.
    if (absl::IsFailedPrecondition(p.status())) return NodeUnimplemented(node, std::string(p.status().message()));
    QB_RETURN_IF_ERROR(p.status());
    dnnl::algorithm alg;
    float a = 0.f, b = 0.f;
    // HardSigmoid needs two oneDNN steps (linear, then clip): left to the reference.
    if (!EltwiseAlgorithm(node.op_type, p->alpha, p->beta, &alg, &a, &b))
      return NodeUnimplemented(node, "no single oneDNN eltwise algorithm");
    const dnnl::memory::desc md = in[0].md;  // accept the producer's layout as is
    try {
      dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, alg, md, a, b);
      pd_ = dnnl::eltwise_forward::primitive_desc(d, ctx_->engine);
    } catch (const dnnl::error& e) {
      return NoPrimitive(node, "eltwise", e);
    }
    prim_ = dnnl::eltwise_forward(pd_);
    (*wanted)[0] = md;
    out->assign(1, RtMeta{DType::kF32, in[0].shape, pd_.dst_desc(), nullptr});
    return absl::OkStatus();
  }

  absl::Status Execute(std::span<const dnnl::memory> in, std::span<const dnnl::memory> out) override {
    prim_.execute(ctx_->stream, {{DNNL_ARG_SRC, in[0]}, {DNNL_ARG_DST, out[0]}});
    return absl::OkStatus();
  }

  std::string Implementation() const override { return pd_ ? pd_.impl_info_str() : "none"; }

 private:
  DnnlContext* ctx_;
  dnnl::eltwise_forward::primitive_desc pd_;
  dnnl::eltwise_forward prim_;
};

}  // namespace

std::unique_ptr<Kernel> MakeOneDnnEltwise(DnnlContext* ctx) { return std::make_unique<OneDnnEltwise>(ctx); }

}  // namespace qbench
