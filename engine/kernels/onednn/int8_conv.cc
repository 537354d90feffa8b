// Integer convolution on oneDNN: u8/s8 activations, s8 weights (prepacked once into the
// layout the primitive picked with format_tag::any), s32 accumulation, per-channel
// output scales, zero points, a float bias in accumulator units, and the fused
// Relu/Clip/Sum post-ops (int8_util.h has the formula). The output is u8/s8 when the
// layer's readers were all QuantizeLinear, float32 otherwise.
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/onednn/int8_util.h"
#include "engine/kernels/onednn/conv_dims.h"
#include "engine/kernels/onednn/registry.h"
#include "engine/kernels/onednn/util.h"
#include "engine/ops/conv.h"
#include "engine/ops/op_util.h"

namespace qbench {
namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

class Int8Conv final : public Kernel {
 public:
  explicit Int8Conv(DnnlContext* ctx) : ctx_(ctx) {}

  absl::Status Prepare(const Node& node, std::span<const RtMeta> in, std::vector<dnnl::memory::desc>* wanted,
                       std::vector<RtMeta>* out) override {
    QB_ASSIGN_OR_RETURN(ConvParams p, ParseConv(node, ParserMetas(node, in)));
    if (in[1].constant == nullptr || in[1].dtype != DType::kS8) return NodeUnimplemented(node, "weights are not int8 constants");
    if (p.has_bias && in[2].constant == nullptr) return NodeUnimplemented(node, "bias is not a constant");
    const NodeQuant& q = *node.quant;
    const DType out_type = q.output ? q.output->dtype : DType::kF32;
    dynamic_ = q.dynamic();

    const ConvDims cd = MakeConvDims(p, in[0].shape, in[1].shape);
    const dnnl::memory::dims &src_dims = cd.src, &dst_dims = cd.dst, &w_dims = cd.weights;

    Int8Attr a;
    // Dynamic: s_x and the real bias broadcast against dst ({1,...,1} and {1,OC,1,...}).
    dnnl::memory::dims ones(dst_dims.size(), 1), per_channel = ones;
    per_channel[1] = p.out_channels;
    const dnnl::memory::desc scalar_md(ones, dt::f32, DenseStrides(ones)),
        channel_md(per_channel, dt::f32, DenseStrides(per_channel));
    if (dynamic_) {
      QB_ASSIGN_OR_RETURN(a.attr, BuildDynamicInt8Attr(node, p.out_channels, 1 << 1, scalar_md, channel_md));
    } else {
      QB_ASSIGN_OR_RETURN(a, BuildInt8Attr(node, p.out_channels, 1 << 1));
    }
    const dnnl::memory::desc src_md(src_dims, ToDnnl(in[0].dtype), tag::any), w_md(w_dims, dt::s8, tag::any),
        dst_md(dst_dims, ToDnnl(out_type), tag::any),
        b_md = dynamic_ ? dnnl::memory::desc() : dnnl::memory::desc({p.out_channels}, dt::f32, tag::x);
    try {
      dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                        src_md, w_md, b_md, dst_md, cd.strides, cd.dilations, cd.pad_begin,
                                        cd.pad_end);
      pd_ = dnnl::convolution_forward::primitive_desc(d, a.attr, ctx_->engine);
    } catch (const dnnl::error& e) {
      return NoPrimitive(node, "int8 convolution", e);
    }
    QB_RETURN_IF_ERROR(RejectRefImpl(node, pd_));
    prim_ = dnnl::convolution_forward(pd_);
    dnnl::memory::desc w_user(w_dims, dt::s8, DenseStrides(w_dims));
    weights_ = Prepack(ctx_, w_user, in[1].constant->raw(), pd_.weights_desc());
    // Bias in accumulator units, b / (s_x * s_w[c]); real units for the dynamic post-op.
    bias_ = dnnl::memory(dynamic_ ? channel_md : b_md, ctx_->engine);
    float* b = static_cast<float*>(bias_.get_data_handle());
    for (int64_t c = 0; c < p.out_channels; ++c) {
      const float real = p.has_bias ? in[2].constant->data<float>()[c] : 0.f;
      b[c] = dynamic_ ? real : real * a.bias_scale[c];
    }
    if (dynamic_) dyn_.Init(ctx_->engine, scalar_md, bias_);
    for (size_t i = 1; i < node.inputs.size(); ++i)
      if (node.inputs[i] >= 0) (*wanted)[i] = PlainDesc(in[i].dtype, in[i].shape);

    (*wanted)[0] = pd_.src_desc();
    sum_input_ = -1;
    const size_t sums_end = in.size() - (dynamic_ ? 2 : 0);  // the runtime scale and zero point come last
    for (size_t i = sums_end; i < in.size(); ++i) (*wanted)[i] = PlainDesc(in[i].dtype, in[i].shape);
    for (size_t i = node.inputs.size(); i < sums_end; ++i) {  // Sum residual: in dst's layout
      // An s8 residual into a u8 dst (or back): same bytes in dst's layout, its own type.
      (*wanted)[i] = WithDataType(pd_.dst_desc(), in[i].dtype);
      sum_input_ = static_cast<int>(i);
    }
    out->assign(1, RtMeta{out_type, Shape(dst_dims.begin(), dst_dims.end()), pd_.dst_desc(), nullptr});
    return absl::OkStatus();
  }

  int InPlaceInput() const override { return sum_input_; }

  absl::Status Execute(std::span<const dnnl::memory> in, std::span<const dnnl::memory> out) override {
    std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_SRC, in[0]}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_DST, out[0]}};
    if (dynamic_) dyn_.Bind(in[in.size() - 2], in[in.size() - 1], &args);
    else args[DNNL_ARG_BIAS] = bias_;
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
  bool dynamic_ = false;
  DynamicArgs dyn_;
};

}  // namespace

std::unique_ptr<Kernel> MakeInt8Conv(DnnlContext* ctx) { return std::make_unique<Int8Conv>(ctx); }

}  // namespace qbench
