// Add, Sub, Mul, Div with numpy broadcasting as one oneDNN binary primitive:
//   dst[i] = op(src0[i], src1[broadcast(i)]).
// oneDNN 2.6 broadcasts src1 only, and only between tensors of equal rank, so:
//  - both shapes are left-padded with 1s to the output rank (a plain view of the bytes);
//  - src0 must have the output shape; if only A broadcasts, Add and Mul swap operands
//    (they commute); Sub and Div, or both inputs broadcasting, go to the reference.
// Layouts: with equal shapes the op is purely elementwise, so the first runtime input's
// layout (even a blocked one from a Conv) is kept for both inputs and the output. With
// broadcasting, a blocked full-shape operand keeps its layout when oneDNN has a non-ref
// kernel for it, with the broadcast operand plain or, failing that, in the same blocking;
// otherwise everything is plain.
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/onednn/registry.h"
#include "engine/kernels/onednn/util.h"
#include "engine/ops/binary.h"
#include "engine/ops/op_util.h"

namespace qbench {
namespace {

// `md`'s layout as one of oneDNN's channel-blocked tags, applied to `dims` (a broadcast
// operand of the same rank); a zero desc when `md` is none of them. oneDNN 2.6's jit
// binary takes a blocked src0 with a plain src1 only for some blockings (16c on AVX-512)
// and with a src1 of the same blocking for others (8c on AVX2).
dnnl::memory::desc SameBlocking(const dnnl::memory::desc& md, const dnnl::memory::dims& dims) {
  using tag = dnnl::memory::format_tag;
  static constexpr tag kBlocked[] = {tag::nCw8c,   tag::nCw16c,   tag::nChw8c,  tag::nChw16c,
                                     tag::nCdhw8c, tag::nCdhw16c, tag::nChw4c,  tag::nCw4c};
  for (tag t : kBlocked) {
    try {
      if (dnnl::memory::desc(md.dims(), dnnl::memory::data_type::f32, t) == md)
        return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, t);
    } catch (const dnnl::error&) {
      // the tag's rank differs from md's
    }
  }
  return dnnl::memory::desc();
}

// Left-pads a shape with 1s to `rank` dims.
dnnl::memory::dims PadTo(const Shape& s, size_t rank) {
  dnnl::memory::dims d(rank - s.size(), 1);
  d.insert(d.end(), s.begin(), s.end());
  return d;
}

class OneDnnBinary final : public Kernel {
 public:
  explicit OneDnnBinary(DnnlContext* ctx) : ctx_(ctx) {}

  absl::Status Prepare(const Node& node, std::span<const RtMeta> in, std::vector<dnnl::memory::desc>* wanted,
                       std::vector<RtMeta>* out) override {
    QB_RETURN_IF_ERROR(RequireNoPostOps(node));
    QB_ASSIGN_OR_RETURN(BinaryParams p, ParseBinary(node, ParserMetas(node, in)));
    if (p.dtype != DType::kF32) return NodeUnimplemented(node, "oneDNN binary kernel takes float32 only");
    if (HasZeroDim(p.out)) return NodeUnimplemented(node, "empty tensor");
    dnnl::algorithm alg;
    const bool commutes = node.op_type == "Add" || node.op_type == "Mul";
    if (node.op_type == "Add") alg = dnnl::algorithm::binary_add;
    else if (node.op_type == "Sub") alg = dnnl::algorithm::binary_sub;
    else if (node.op_type == "Mul") alg = dnnl::algorithm::binary_mul;
    else if (node.op_type == "Div") alg = dnnl::algorithm::binary_div;
    else return NodeUnimplemented(node, "not a binary op");

    const size_t rank = std::max<size_t>(1, p.out.size());
    const dnnl::memory::dims out_dims = PadTo(p.out, rank);
    const dnnl::memory::dims a_dims = PadTo(in[0].shape, rank), b_dims = PadTo(in[1].shape, rank);
    // Which node input is src0 (the full-shape operand).
    if (a_dims == out_dims) src_[0] = 0, src_[1] = 1;
    else if (b_dims == out_dims && commutes) src_[0] = 1, src_[1] = 0;
    else return NodeUnimplemented(node, "oneDNN 2.6 binary broadcasts only its second operand");

    dnnl::memory::desc md[2], dst_md;
    const RtMeta& full = in[src_[0]];
    if (in[0].shape == in[1].shape) {
      // Elementwise without broadcast: keep the layout of the first runtime input.
      const int lead = in[0].constant == nullptr ? 0 : 1;
      dst_md = md[0] = md[1] = out_md_ = in[lead].md;
    } else if (full.constant == nullptr && full.shape == p.out && full.md != PlainDesc(DType::kF32, p.out)) {
      // A broadcast onto a blocked tensor (a per-channel scale after a Conv): try keeping
      // src0's layout, with the small operand plain.
      md[0] = dst_md = out_md_ = full.md;
      const dnnl::memory::dims& small = src_[1] == 0 ? a_dims : b_dims;
      md[1] = PlainF32(small);
      if (!TryCreate(alg, md[0], md[1], dst_md, nullptr)) {
        // Or with the small operand in src0's blocking (a constant is packed into it; a
        // runtime one, a few values per channel, is reordered instead of the big one).
        const dnnl::memory::desc same = SameBlocking(full.md, small);
        if (!same.is_zero()) md[1] = same;
      }
    }
    if (!md[0].is_zero() && !TryCreate(alg, md[0], md[1], dst_md, nullptr)) md[0] = dnnl::memory::desc();
    if (md[0].is_zero()) {  // broadcasting on plain tensors
      md[0] = PlainF32(src_[0] == 0 ? a_dims : b_dims);
      md[1] = PlainF32(src_[1] == 0 ? a_dims : b_dims);
      dst_md = PlainF32(out_dims);
      out_md_ = PlainDesc(DType::kF32, p.out);
      std::string why;
      if (!TryCreate(alg, md[0], md[1], dst_md, &why)) return NodeUnimplemented(node, "oneDNN has no binary: " + why);
    }
    prim_ = dnnl::binary(pd_);
    dst_ = MemoryView(pd_.dst_desc(), ctx_->engine);
    for (int k = 0; k < 2; ++k) {
      const int i = src_[k];
      view_[k] = MemoryView(md[k], ctx_->engine);
      if (in[i].constant != nullptr) {
        // Constants are never reordered by the executor: pack once into the operand layout.
        const dnnl::memory::desc plain = PlainF32(i == 0 ? a_dims : b_dims);
        const_[k] = Prepack(ctx_, plain, in[i].constant->raw(), md[k]);
      } else if (md[k].dims() == dnnl::memory::dims(in[i].shape.begin(), in[i].shape.end())) {
        (*wanted)[i] = md[k];  // same dims: it may be a blocked layout to reorder into
      } else {
        (*wanted)[i] = PlainDesc(DType::kF32, in[i].shape);  // arrives plain, viewed padded
      }
    }
    out->assign(1, RtMeta{DType::kF32, p.out, out_md_, nullptr});
    return absl::OkStatus();
  }

  absl::Status Execute(std::span<const dnnl::memory> in, std::span<const dnnl::memory> out) override {
    auto operand = [&](int k) { return const_[k] ? const_[k] : view_[k].Of(in[src_[k]]); };
    prim_.execute(ctx_->stream,
                  {{DNNL_ARG_SRC_0, operand(0)}, {DNNL_ARG_SRC_1, operand(1)}, {DNNL_ARG_DST, dst_.Of(out[0])}});
    return absl::OkStatus();
  }

  std::string Implementation() const override { return pd_ ? pd_.impl_info_str() : "none"; }

 private:
  // Creates pd_; false (with the reason) when oneDNN has no implementation but "ref".
  bool TryCreate(dnnl::algorithm alg, const dnnl::memory::desc& src0, const dnnl::memory::desc& src1,
                 const dnnl::memory::desc& dst, std::string* why) {
    try {
      pd_ = dnnl::binary::primitive_desc(dnnl::binary::desc(alg, src0, src1, dst), ctx_->engine);
    } catch (const dnnl::error& e) {
      if (why) *why = e.what();
      return false;
    }
    if (std::string(pd_.impl_info_str()).starts_with("ref") && src0 != PlainF32(src0.dims())) {
      if (why) *why = "only a ref implementation";
      return false;
    }
    return true;
  }

  DnnlContext* ctx_;
  int src_[2] = {0, 1};               // node input feeding src0 / src1
  dnnl::memory::desc out_md_;         // the output's runtime layout
  MemoryView view_[2], dst_;          // the operands and output as the primitive sees them
  dnnl::memory const_[2];             // prepacked constant operands
  dnnl::binary::primitive_desc pd_;
  dnnl::binary prim_;
};

}  // namespace

std::unique_ptr<Kernel> MakeOneDnnBinary(DnnlContext* ctx) { return std::make_unique<OneDnnBinary>(ctx); }

}  // namespace qbench
