// MatMul (numpy.matmul) as one oneDNN matmul primitive:
//   Y[b..., m, n] = sum_k A[b_A..., m, k] * B[b_B..., k, n],
// where ParseMatMul gives the broadcast batch dims and each operand's batch dims padded
// with 1s (a 1 broadcasts, which oneDNN's matmul does natively for equal-rank operands);
// 1-D operands are promoted to [1, K] / [K, 1] and the promoted dim is dropped from Y.
// Every view is a reshape of row-major bytes, so A, B and Y stay plain; only a constant
// B is prepacked into the layout the primitive picks (format_tag::any).
// Fused post-ops (activations, a residual Sum) run inside the primitive.
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

// batch + [rows, cols] as oneDNN dims.
dims MatrixDims(const Shape& batch, int64_t rows, int64_t cols) {
  dims d(batch.begin(), batch.end());
  d.push_back(rows);
  d.push_back(cols);
  return d;
}

class OneDnnMatMul final : public Kernel {
 public:
  explicit OneDnnMatMul(DnnlContext* ctx) : ctx_(ctx) {}

  absl::Status Prepare(const Node& node, std::span<const RtMeta> in, std::vector<dnnl::memory::desc>* wanted,
                       std::vector<RtMeta>* out) override {
    QB_ASSIGN_OR_RETURN(MatMulParams p, ParseMatMul(node, ParserMetas(node, in)));
    if (p.m <= 0 || p.n <= 0 || p.k <= 0 || HasZeroDim(p.batch)) return NodeUnimplemented(node, "empty matrix");
    a_md_ = PlainF32(MatrixDims(p.a_batch, p.m, p.k));
    const dnnl::memory::desc b_plain = PlainF32(MatrixDims(p.b_batch, p.k, p.n));
    const dims b_dims = b_plain.dims();
    b_md_ = in[1].constant ? dnnl::memory::desc(b_dims, dnnl::memory::data_type::f32, dnnl::memory::format_tag::any)
                           : b_plain;
    dst_md_ = PlainF32(MatrixDims(p.batch, p.m, p.n));
    dnnl::primitive_attr attr;
    QB_ASSIGN_OR_RETURN(dnnl::post_ops po, BuildPostOps(node));
    attr.set_post_ops(po);
    dnnl::matmul::primitive_desc pd;
    try {
      pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md_, b_md_, dst_md_), attr, ctx_->engine);
    } catch (const dnnl::error& e) {
      return NoPrimitive(node, "matmul", e);
    }
    QB_RETURN_IF_ERROR(RejectRefImpl(node, pd));
    if (in[1].constant) {
      weights_ = Prepack(ctx_, b_plain, in[1].constant->raw(), pd.weights_desc());
      b_md_ = pd.weights_desc();
    }
    impl_ = pd.impl_info_str();
    prim_ = dnnl::matmul(pd);
    a_ = MemoryView(a_md_, ctx_->engine);
    b_ = MemoryView(b_md_, ctx_->engine);
    dst_ = MemoryView(dst_md_, ctx_->engine);

    (*wanted)[0] = PlainDesc(DType::kF32, in[0].shape);
    (*wanted)[1] = PlainDesc(DType::kF32, in[1].shape);
    const dnnl::memory::desc out_md = PlainDesc(DType::kF32, p.out_shape);
    sum_input_ = -1;
    for (size_t i = node.inputs.size(); i < in.size(); ++i) {  // Sum post-op residual
      (*wanted)[i] = out_md;
      sum_input_ = static_cast<int>(i);
    }
    out->assign(1, RtMeta{DType::kF32, p.out_shape, out_md, nullptr});
    return absl::OkStatus();
  }

  int InPlaceInput() const override { return sum_input_; }

  absl::Status Execute(std::span<const dnnl::memory> in, std::span<const dnnl::memory> out) override {
    prim_.execute(ctx_->stream, {{DNNL_ARG_SRC, a_.Of(in[0])},
                                 {DNNL_ARG_WEIGHTS, weights_ ? weights_ : b_.Of(in[1])},
                                 {DNNL_ARG_DST, dst_.Of(out[0])}});
    return absl::OkStatus();
  }

  std::string Implementation() const override { return impl_; }

 private:
  DnnlContext* ctx_;
  dnnl::matmul prim_;
  std::string impl_ = "none";
  dnnl::memory::desc a_md_, b_md_, dst_md_;  // batch-padded views of A, B (or packed B), Y
  MemoryView a_, b_, dst_;
  dnnl::memory weights_;                     // prepacked constant B
  int sum_input_ = -1;
};

}  // namespace

std::unique_ptr<Kernel> MakeOneDnnMatMul(DnnlContext* ctx) { return std::make_unique<OneDnnMatMul>(ctx); }

}  // namespace qbench
