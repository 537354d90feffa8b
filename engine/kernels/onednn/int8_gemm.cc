// Integer Gemm (a fully connected layer) on oneDNN's matmul: A[M, K] u8/s8 with its zero
// point, B[K, N] s8 prepacked once, s32 accumulation, per-column output scales, bias in
// accumulator units, fused post-ops (int8_util.h). Gemm's alpha and beta must be 1 (the
// quantizer only lowers layers exported that way); anything else runs in float.
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/onednn/int8_util.h"
#include "engine/kernels/onednn/registry.h"
#include "engine/kernels/onednn/util.h"
#include "engine/ops/gemm.h"
#include "engine/ops/op_util.h"

namespace qbench {
namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;

class Int8Gemm final : public Kernel {
 public:
  explicit Int8Gemm(DnnlContext* ctx) : ctx_(ctx) {}

  absl::Status Prepare(const Node& node, std::span<const RtMeta> in, std::vector<dnnl::memory::desc>* wanted,
                       std::vector<RtMeta>* out) override {
    QB_ASSIGN_OR_RETURN(GemmParams p, ParseGemm(node, ParserMetas(node, in)));
    if (p.trans_a || p.alpha != 1.f || (p.has_c && p.beta != 1.f))
      return NodeUnimplemented(node, "integer Gemm needs transA = 0 and alpha = beta = 1");
    if (in[1].constant == nullptr || in[1].dtype != DType::kS8) return NodeUnimplemented(node, "B is not an int8 constant");
    if (p.has_c && (in[2].constant == nullptr || p.c_rows != 1))
      return NodeUnimplemented(node, "integer Gemm needs a constant row bias");
    const NodeQuant& q = *node.quant;
    const DType out_type = q.output ? q.output->dtype : DType::kF32;
    dynamic_ = q.dynamic();
    const dnnl::memory::desc scalar_md({1, 1}, dt::f32, tag::ab), bias_md({1, p.n}, dt::f32, tag::ab);
    Int8Attr a;
    if (dynamic_) {
      QB_ASSIGN_OR_RETURN(a.attr, BuildDynamicInt8Attr(node, p.n, 1 << 1, scalar_md, bias_md));
    } else {
      QB_ASSIGN_OR_RETURN(a, BuildInt8Attr(node, p.n, 1 << 1));
    }
    const dnnl::memory::desc a_md({p.m, p.k}, ToDnnl(in[0].dtype), tag::ab), b_md({p.k, p.n}, dt::s8, tag::any),
        c_md({p.m, p.n}, ToDnnl(out_type), tag::ab);
    try {
      pd_ = dnnl::matmul::primitive_desc(
          dnnl::matmul::desc(a_md, b_md, dynamic_ ? dnnl::memory::desc() : bias_md, c_md), a.attr, ctx_->engine);
    } catch (const dnnl::error& e) {
      return NoPrimitive(node, "int8 matmul", e);
    }
    QB_RETURN_IF_ERROR(RejectRefImpl(node, pd_));
    prim_ = dnnl::matmul(pd_);
    // B as stored: [N, K] with transB (strides {1, K} view it as {K, N}), else [K, N].
    const dnnl::memory::desc b_user({p.k, p.n}, dt::s8, p.trans_b ? dims{1, p.k} : dims{p.n, 1});
    weights_ = Prepack(ctx_, b_user, in[1].constant->raw(), pd_.weights_desc());
    bias_ = dnnl::memory(bias_md, ctx_->engine);
    float* b = static_cast<float*>(bias_.get_data_handle());
    for (int64_t c = 0; c < p.n; ++c) {
      const float real = p.has_c ? in[2].constant->data<float>()[p.c_cols == 1 ? 0 : c] : 0.f;
      b[c] = dynamic_ ? real : real * a.bias_scale[c];
    }
    if (dynamic_) dyn_.Init(ctx_->engine, scalar_md, bias_);
    // A arrives as the [M, K] rows it is (Gemm's input may be N-D with the same bytes).
    (*wanted)[0] = PlainDesc(in[0].dtype, in[0].shape);
    a_view_ = MemoryView(a_md, ctx_->engine);
    for (size_t i = 1; i < node.inputs.size(); ++i)
      if (node.inputs[i] >= 0) (*wanted)[i] = PlainDesc(in[i].dtype, in[i].shape);
    sum_input_ = -1;
    const size_t sums_end = in.size() - (dynamic_ ? 2 : 0);  // the runtime scale and zero point come last
    for (size_t i = sums_end; i < in.size(); ++i) (*wanted)[i] = PlainDesc(in[i].dtype, in[i].shape);
    for (size_t i = node.inputs.size(); i < sums_end; ++i) {
      (*wanted)[i] = PlainDesc(in[i].dtype, {p.m, p.n});
      sum_input_ = static_cast<int>(i);
    }
    out->assign(1, RtMeta{out_type, Shape{p.m, p.n}, c_md, nullptr});
    return absl::OkStatus();
  }

  int InPlaceInput() const override { return sum_input_; }

  absl::Status Execute(std::span<const dnnl::memory> in, std::span<const dnnl::memory> out) override {
    std::unordered_map<int, dnnl::memory> args = {
        {DNNL_ARG_SRC, a_view_.Of(in[0])}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_DST, out[0]}};
    if (dynamic_) dyn_.Bind(in[in.size() - 2], in[in.size() - 1], &args);
    else args[DNNL_ARG_BIAS] = bias_;
    prim_.execute(ctx_->stream, args);
    return absl::OkStatus();
  }

  std::string Implementation() const override { return pd_ ? pd_.impl_info_str() : "none"; }

 private:
  DnnlContext* ctx_;
  dnnl::matmul::primitive_desc pd_;
  dnnl::matmul prim_;
  dnnl::memory weights_, bias_;
  MemoryView a_view_;
  int sum_input_ = -1;
  bool dynamic_ = false;
  DynamicArgs dyn_;
};

}  // namespace

std::unique_ptr<Kernel> MakeInt8Gemm(DnnlContext* ctx) { return std::make_unique<Int8Gemm>(ctx); }

}  // namespace qbench
