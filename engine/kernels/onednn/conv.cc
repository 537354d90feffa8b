// FP32 convolution on oneDNN: primitive created once per plan with format_tag::any so
// oneDNN picks its fastest layout (blocked nChw16c or nhwc for brgconv); weights are
// reordered into that layout once here; bias, activations and a residual Sum run as
// post-ops inside the primitive.
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/onednn/post_ops.h"
#include "engine/kernels/onednn/conv_dims.h"
#include "engine/kernels/onednn/registry.h"
#include "engine/ops/conv.h"
#include "engine/ops/op_util.h"

namespace qbench {
namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

class OneDnnConv final : public Kernel {
 public:
  explicit OneDnnConv(DnnlContext* ctx) : ctx_(ctx) {}

  absl::Status Prepare(const Node& node, std::span<const RtMeta> in, std::vector<dnnl::memory::desc>* wanted,
                       std::vector<RtMeta>* out) override {
    std::vector<TensorMeta> tm(node.inputs.size());
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (node.inputs[i] < 0) tm[i].present = false;
      else tm[i] = {in[i].dtype, in[i].shape, in[i].constant, true};
    }
    QB_ASSIGN_OR_RETURN(ConvParams p, ParseConv(node, tm));
    if (in[1].constant == nullptr) return NodeUnimplemented(node, "oneDNN conv needs constant weights");
    if (p.has_bias && in[2].constant == nullptr) return NodeUnimplemented(node, "oneDNN conv needs a constant bias");

    const ConvDims cd = MakeConvDims(p, in[0].shape, in[1].shape);
    const dnnl::memory::dims &src_dims = cd.src, &dst_dims = cd.dst, &w_dims = cd.weights;

    // bf16 configurations: bfloat16 src and weights, float32 accumulation and dst.
    const dt compute = node.attrs.Has("__bf16") ? dt::bf16 : dt::f32;
    dnnl::memory::desc src_md(src_dims, compute, tag::any), w_md(w_dims, compute, tag::any),
        dst_md(dst_dims, dt::f32, tag::any);
    dnnl::memory::desc b_md = p.has_bias ? dnnl::memory::desc({p.out_channels}, dt::f32, tag::x)
                                         : dnnl::memory::desc();
    dnnl::primitive_attr attr;
    QB_ASSIGN_OR_RETURN(dnnl::post_ops po, BuildPostOps(node));
    attr.set_post_ops(po);
    try {
      dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                        src_md, w_md, b_md, dst_md, cd.strides, cd.dilations, cd.pad_begin,
                                        cd.pad_end);
      pd_ = dnnl::convolution_forward::primitive_desc(d, attr, ctx_->engine);
    } catch (const dnnl::error& e) {
      return NodeUnimplemented(node, absl::StrCat("oneDNN has no convolution for this shape: ", e.what()));
    }
    prim_ = dnnl::convolution_forward(pd_);
    // Prepack weights once into the layout the primitive chose.
    dnnl::memory::dims w_plain_strides(w_dims.size(), 1);
    for (int i = static_cast<int>(w_dims.size()) - 2; i >= 0; --i) w_plain_strides[i] = w_plain_strides[i + 1] * w_dims[i + 1];
    dnnl::memory w_user({w_dims, dt::f32, w_plain_strides}, ctx_->engine, const_cast<Tensor*>(in[1].constant)->raw());
    weights_ = dnnl::memory(pd_.weights_desc(), ctx_->engine);
    dnnl::reorder(w_user, weights_).execute(ctx_->stream, w_user, weights_);
    ctx_->stream.wait();
    if (p.has_bias) bias_ = dnnl::memory(b_md, ctx_->engine, const_cast<Tensor*>(in[2].constant)->raw());

    (*wanted)[0] = pd_.src_desc();
    sum_input_ = -1;
    for (size_t i = node.inputs.size(); i < in.size(); ++i) {  // Sum post-op residual: dst layout
      (*wanted)[i] = pd_.dst_desc();
      sum_input_ = static_cast<int>(i);
    }
    Shape out_shape(dst_dims.begin(), dst_dims.end());
    out->assign(1, RtMeta{DType::kF32, out_shape, pd_.dst_desc(), nullptr});
    return absl::OkStatus();
  }

  int InPlaceInput() const override { return sum_input_; }

  absl::Status Execute(std::span<const dnnl::memory> in, std::span<const dnnl::memory> out) override {
    std::unordered_map<int, dnnl::memory> args = {
        {DNNL_ARG_SRC, in[0]}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_DST, out[0]}};
    if (bias_) args[DNNL_ARG_BIAS] = bias_;
    prim_.execute(ctx_->stream, args);
    return absl::OkStatus();
  }

  std::string Implementation() const override { return pd_ ? pd_.impl_info_str() : "none"; }

 private:
  DnnlContext* ctx_;
  dnnl::convolution_forward::primitive_desc pd_;
  dnnl::convolution_forward prim_;
  dnnl::memory weights_, bias_;
  int sum_input_ = -1;
};

}  // namespace

std::unique_ptr<Kernel> MakeOneDnnConv(DnnlContext* ctx) { return std::make_unique<OneDnnConv>(ctx); }

}  // namespace qbench
