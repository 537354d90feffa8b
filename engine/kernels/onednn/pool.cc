// MaxPool, AveragePool and GlobalAveragePool as one oneDNN pooling_v2_forward primitive.
// The window geometry (kernel, strides, dilations, pads, ceil_mode's extra end padding)
// comes resolved from ParsePool, so oneDNN sees exactly the windows the reference uses:
//   max:  y = max over the in-range window positions (padding never wins);
//   avg:  y = sum over in-range positions / divisor, where oneDNN's divisor is
//         pooling_avg_exclude_padding: the in-range count (count_include_pad = 0),
//         pooling_avg_include_padding: the full kernel size (count_include_pad = 1).
// The reference's include-pad divisor counts only the explicit pads, not the end padding
// ceil_mode adds; the two agree exactly when ceil_mode did not grow pads_end (then every
// window lies inside [-pads_begin, D + pads_end)). Otherwise, and when a window could lie
// wholly in padding (pads >= the dilated kernel, where the reference defines -inf / 0 and
// oneDNN defines nothing), the reference kernel runs instead.
//
// The source is taken in the layout it arrives in (a Conv's blocked output stays blocked),
// and the destination uses format_tag::any, which oneDNN resolves to the source's layout.
// GlobalAveragePool is the same primitive with the kernel covering all spatial dims.
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/onednn/registry.h"
#include "engine/kernels/onednn/util.h"
#include "engine/ops/op_util.h"
#include "engine/ops/pool.h"

namespace qbench {
namespace {

using dims = dnnl::memory::dims;

class OneDnnPool final : public Kernel {
 public:
  explicit OneDnnPool(DnnlContext* ctx) : ctx_(ctx) {}

  absl::Status Prepare(const Node& node, std::span<const RtMeta> in, std::vector<dnnl::memory::desc>* wanted,
                       std::vector<RtMeta>* out) override {
    QB_RETURN_IF_ERROR(RequireNoPostOps(node));
    QB_ASSIGN_OR_RETURN(PoolParams p, ParsePool(node, ParserMetas(node, in)));
    if (HasZeroDim(in[0].shape)) return NodeUnimplemented(node, "empty tensor");
    const Window& w = p.window;
    dnnl::algorithm alg = dnnl::algorithm::pooling_max;
    if (p.kind == PoolKind::kAverage) {
      if (p.count_include_pad && p.counted_pads_end != w.pads_end)
        return NodeUnimplemented(node, "count_include_pad with ceil_mode end padding: oneDNN's divisor differs");
      alg = p.count_include_pad ? dnnl::algorithm::pooling_avg_include_padding
                                : dnnl::algorithm::pooling_avg_exclude_padding;
    }
    dims strides, kernel, dil, pl, pr, dst_dims = {p.batch, p.channels};
    for (size_t i = 0; i < p.in_spatial.size(); ++i) {
      const int64_t extent = (w.kernel[i] - 1) * w.dilations[i] + 1;
      if (w.pads_begin[i] >= extent || w.pads_end[i] >= extent)
        return NodeUnimplemented(node, "a window may lie entirely in the padding");
      strides.push_back(w.strides[i]);
      kernel.push_back(w.kernel[i]);
      dil.push_back(w.dilations[i] - 1);  // oneDNN counts the skipped pixels
      pl.push_back(w.pads_begin[i]);
      pr.push_back(w.pads_end[i]);
      dst_dims.push_back(w.out[i]);
    }
    const dnnl::memory::desc src_md = in[0].md;
    // Integer pooling (a lowered DQ -> pool -> Q with shared parameters) keeps the type.
    const DType out_type = node.quant ? in[0].dtype : DType::kF32;
    const dnnl::memory::desc dst_md(dst_dims, ToDnnl(out_type), dnnl::memory::format_tag::any);
    try {
      dnnl::pooling_v2_forward::desc d(dnnl::prop_kind::forward_inference, alg, src_md, dst_md, strides, kernel, dil,
                                       pl, pr);
      pd_ = dnnl::pooling_v2_forward::primitive_desc(d, ctx_->engine);
    } catch (const dnnl::error& e) {
      return NoPrimitive(node, "pooling", e);
    }
    prim_ = dnnl::pooling_v2_forward(pd_);
    (*wanted)[0] = pd_.src_desc();
    if (node.quant) QB_RETURN_IF_ERROR(RejectRefImpl(node, pd_));
    out->assign(1, RtMeta{out_type, Shape(dst_dims.begin(), dst_dims.end()), pd_.dst_desc(), nullptr});
    // MaxPool's optional Indices output is rejected by ParsePool when it is used; an
    // omitted one still gets an (empty) output slot.
    for (size_t i = 1; i < node.outputs.size(); ++i)
      out->push_back(RtMeta{DType::kS64, Shape{0}, PlainDesc(DType::kS64, Shape{0}), nullptr});
    return absl::OkStatus();
  }

  absl::Status Execute(std::span<const dnnl::memory> in, std::span<const dnnl::memory> out) override {
    prim_.execute(ctx_->stream, {{DNNL_ARG_SRC, in[0]}, {DNNL_ARG_DST, out[0]}});
    return absl::OkStatus();
  }

  std::string Implementation() const override { return pd_ ? pd_.impl_info_str() : "none"; }

 private:
  DnnlContext* ctx_;
  dnnl::pooling_v2_forward::primitive_desc pd_;
  dnnl::pooling_v2_forward prim_;
};

}  // namespace

std::unique_ptr<Kernel> MakeOneDnnPool(DnnlContext* ctx) { return std::make_unique<OneDnnPool>(ctx); }

}  // namespace qbench
