// Gemm on oneDNN: Y[M, N] = alpha * A'[M, K] x B'[K, N] + beta * C, then the node's fused
// post-ops (ParseGemm resolves transposes and C's broadcast; A' = A^T with transA, etc.).
//
// Two primitives, whichever fits:
//  - inner_product_forward, the fast path for a fully connected layer: transA = 0,
//    alpha = 1, constant B, and C absent or a constant broadcast along M (a [N], [1, N],
//    [1] or scalar vector). oneDNN computes dst[m, n] = sum_k src[m, k] * W[n, k] + bias[n],
//    so W is B^T: with transB = 1 B already is {OC, IC}; with transB = 0 the prepacking
//    reorder transposes it (B viewed as {N, K} with strides {1, N}). bias = beta * C.
//  - matmul otherwise: A and B enter as strided views (a transpose is just swapped
//    strides), alpha is the output scale, and beta * C is added after it: as the bias when
//    alpha = 1 and C is a row (no scale to get in the way), else as a binary-add post-op.
//    A runtime C with beta != 1 has no exact oneDNN form and goes to the reference, as
//    does a runtime column C ([M, 1]), for which oneDNN has only its "ref" matmul.
// Both primitives reject oneDNN's slow "ref" implementations (the reference runs instead,
// visibly, rather than a kernel 100x slower than the JIT one hiding behind "oneDNN").
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/onednn/post_ops.h"
#include "engine/kernels/onednn/registry.h"
#include "engine/kernels/onednn/util.h"
#include "engine/ops/gemm.h"
#include "engine/ops/op_util.h"

namespace qbench {
namespace {

using dims = dnnl::memory::dims;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// beta * C broadcast to {rows, cols} (rows 1 or M, cols 1 or N), row-major, in a new
// memory described by `md` (any descriptor of those rows * cols dense floats).
dnnl::memory ScaledC(DnnlContext* ctx, const GemmParams& p, const Tensor& c, int64_t rows, int64_t cols,
                     const dnnl::memory::desc& md) {
  dnnl::memory m(md, ctx->engine);
  float* dst = static_cast<float*>(m.get_data_handle());
  const float* src = c.data<float>();
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      dst[i * cols + j] = p.beta * src[(p.c_rows == 1 ? 0 : i) * p.c_cols + (p.c_cols == 1 ? 0 : j)];
  return m;
}

class OneDnnGemm final : public Kernel {
 public:
  explicit OneDnnGemm(DnnlContext* ctx) : ctx_(ctx) {}

  absl::Status Prepare(const Node& node, std::span<const RtMeta> in, std::vector<dnnl::memory::desc>* wanted,
                       std::vector<RtMeta>* out) override {
    QB_ASSIGN_OR_RETURN(GemmParams p, ParseGemm(node, ParserMetas(node, in)));
    if (p.m <= 0 || p.n <= 0 || p.k <= 0) return NodeUnimplemented(node, "empty matrix");
    const bool c_const = !p.has_c || in[2].constant != nullptr;
    const bool fc = !p.trans_a && p.alpha == 1.f && in[0].constant == nullptr && in[1].constant != nullptr;
    if (fc && c_const && (!p.has_c || p.c_rows == 1)) {
      absl::Status s = PrepareInnerProduct(node, p, in);
      if (!absl::IsUnimplemented(s)) return Finish(node, s, in, wanted, out);
    }
    return Finish(node, PrepareMatMul(node, p, in), in, wanted, out);
  }

  int InPlaceInput() const override { return sum_input_; }

  absl::Status Execute(std::span<const dnnl::memory> in, std::span<const dnnl::memory> out) override {
    std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_DST, out[0]}};
    args[DNNL_ARG_SRC] = a_ ? a_.Of(in[0]) : in[0];
    args[DNNL_ARG_WEIGHTS] = weights_ ? weights_ : b_.Of(in[1]);
    if (c_mem_) args[c_arg_] = c_mem_;
    else if (c_) args[c_arg_] = c_.Of(in[2]);
    prim_.execute(ctx_->stream, args);
    return absl::OkStatus();
  }

  std::string Implementation() const override { return impl_; }

 private:
  absl::Status PrepareInnerProduct(const Node& node, const GemmParams& p, std::span<const RtMeta> in) {
    dnnl::primitive_attr attr;
    QB_ASSIGN_OR_RETURN(dnnl::post_ops po, BuildPostOps(node));
    attr.set_post_ops(po);
    const dt compute = node.attrs.Has("__bf16") ? dt::bf16 : dt::f32;  // bf16 configurations
    const dnnl::memory::desc src({p.m, p.k}, compute, tag::any), w({p.n, p.k}, compute, tag::any),
        bias = p.has_c ? dnnl::memory::desc({p.n}, dt::f32, tag::x) : dnnl::memory::desc(),
        dst({p.m, p.n}, dt::f32, tag::any);
    dnnl::inner_product_forward::primitive_desc pd;
    try {
      pd = dnnl::inner_product_forward::primitive_desc(
          dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference, src, w, bias, dst), attr,
          ctx_->engine);
    } catch (const dnnl::error& e) {
      return NoPrimitive(node, "inner product", e);
    }
    QB_RETURN_IF_ERROR(RejectRefImpl(node, pd));
    // B as {N, K}: as stored with transB, else the transposed view of the [K, N] matrix.
    const dnnl::memory::desc b_user({p.n, p.k}, dt::f32, p.trans_b ? dims{p.k, 1} : dims{1, p.n});
    weights_ = Prepack(ctx_, b_user, in[1].constant->raw(), pd.weights_desc());
    if (p.has_c) {
      c_mem_ = ScaledC(ctx_, p, *in[2].constant, 1, p.n, bias);
      c_arg_ = DNNL_ARG_BIAS;
    }
    src_md_ = pd.src_desc();
    dst_md_ = pd.dst_desc();
    impl_ = pd.impl_info_str();
    prim_ = dnnl::inner_product_forward(pd);
    return absl::OkStatus();
  }

  absl::Status PrepareMatMul(const Node& node, const GemmParams& p, std::span<const RtMeta> in) {
    const bool c_const = p.has_c && in[2].constant != nullptr;
    if (p.has_c && !c_const && p.beta != 1.f)
      return NodeUnimplemented(node, "a runtime C with beta != 1 has no exact oneDNN form");
    const dims a_strides = p.trans_a ? dims{1, p.m} : dims{p.k, 1};
    const dims b_strides = p.trans_b ? dims{1, p.k} : dims{p.n, 1};
    const dnnl::memory::desc a_md({p.m, p.k}, dt::f32, a_strides), b_strided({p.k, p.n}, dt::f32, b_strides);
    b_md_ = in[1].constant ? dnnl::memory::desc({p.k, p.n}, dt::f32, tag::any) : b_strided;
    dst_md_ = PlainF32({p.m, p.n});
    dnnl::primitive_attr attr;
    if (p.alpha != 1.f) attr.set_output_scales(0, {p.alpha});
    // C's operand shape: a runtime C as given; a constant one expanded (beta * C) to
    // {1, N} or {M, N}, the broadcasts oneDNN's matmul runs natively ({M, 1} only has a
    // "ref" kernel, and a bias only the {1, N} form).
    const dims c_dims = c_const ? dims{p.c_rows == 1 ? 1 : p.m, p.n} : dims{p.c_rows, p.c_cols};
    const bool c_as_bias = p.has_c && p.alpha == 1.f && c_dims == dims{1, p.n};
    dnnl::post_ops po;
    if (p.has_c) {
      c_md_ = PlainF32(c_dims);
      c_arg_ = c_as_bias ? DNNL_ARG_BIAS : (DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1);
      if (!c_as_bias) po.append_binary(dnnl::algorithm::binary_add, c_md_);  // after the alpha scale
    }
    for (const PostOp& op : node.post_ops) {
      if (op.kind == "Sum") po.append_sum(1.f);
      else if (absl::Status s = AppendEltwise(po, op.kind, op.alpha, op.beta); !s.ok())
        return NodeUnimplemented(node, std::string(s.message()));
    }
    attr.set_post_ops(po);
    dnnl::matmul::primitive_desc pd;
    try {
      pd = dnnl::matmul::primitive_desc(
          dnnl::matmul::desc(a_md, b_md_, c_as_bias ? c_md_ : dnnl::memory::desc(), dst_md_), attr, ctx_->engine);
    } catch (const dnnl::error& e) {
      return NoPrimitive(node, "matmul", e);
    }
    QB_RETURN_IF_ERROR(RejectRefImpl(node, pd));
    if (in[1].constant) {
      weights_ = Prepack(ctx_, b_strided, in[1].constant->raw(), pd.weights_desc());
      b_md_ = pd.weights_desc();
    }
    if (c_const) c_mem_ = ScaledC(ctx_, p, *in[2].constant, c_dims[0], c_dims[1], c_md_);
    // A arrives plain; the primitive reads it through the (possibly transposed) view.
    src_md_ = PlainDesc(DType::kF32, in[0].shape);
    a_ = MemoryView(a_md, ctx_->engine);
    if (!weights_) b_ = MemoryView(b_md_, ctx_->engine);
    if (p.has_c && !c_const) c_ = MemoryView(c_md_, ctx_->engine);
    impl_ = pd.impl_info_str();
    prim_ = dnnl::matmul(pd);
    return absl::OkStatus();
  }

  // Fills the layouts once a primitive is chosen (or passes its error through).
  absl::Status Finish(const Node& node, absl::Status s, std::span<const RtMeta> in,
                      std::vector<dnnl::memory::desc>* wanted, std::vector<RtMeta>* out) {
    QB_RETURN_IF_ERROR(s);
    (*wanted)[0] = src_md_;
    for (size_t i = 1; i < node.inputs.size(); ++i)
      if (node.inputs[i] >= 0) (*wanted)[i] = PlainDesc(in[i].dtype, in[i].shape);
    sum_input_ = -1;
    for (size_t i = node.inputs.size(); i < in.size(); ++i) {  // Sum post-op residual: dst layout
      (*wanted)[i] = dst_md_;
      sum_input_ = static_cast<int>(i);
    }
    const dims d = dst_md_.dims();
    out->assign(1, RtMeta{DType::kF32, Shape(d.begin(), d.end()), dst_md_, nullptr});
    return absl::OkStatus();
  }

  DnnlContext* ctx_;
  dnnl::primitive prim_;
  std::string impl_ = "none";
  dnnl::memory::desc src_md_, dst_md_;
  dnnl::memory::desc b_md_, c_md_;
  MemoryView a_, b_, c_;     // matmul: the views runtime A, B and C are read through
  dnnl::memory weights_;     // prepacked constant B
  dnnl::memory c_mem_;       // beta * C for a constant C
  int c_arg_ = DNNL_ARG_BIAS;
  int sum_input_ = -1;
};

}  // namespace

std::unique_ptr<Kernel> MakeOneDnnGemm(DnnlContext* ctx) { return std::make_unique<OneDnnGemm>(ctx); }

}  // namespace qbench
