// Transpose as one oneDNN reorder: out[i_0, ..., i_{r-1}] = in[j] with j[perm[k]] = i_k.
// The source is described with the output's dims and the input's strides permuted
// (stride of output dim k = row-major stride of input dim perm[k]); reordering that view
// into a plain destination writes the transposed tensor. Both sides are plain.
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/onednn/registry.h"
#include "engine/kernels/onednn/util.h"
#include "engine/ops/op_util.h"
#include "engine/ops/transpose.h"

namespace qbench {
namespace {

class OneDnnTranspose final : public Kernel {
 public:
  explicit OneDnnTranspose(DnnlContext* ctx) : ctx_(ctx) {}

  absl::Status Prepare(const Node& node, std::span<const RtMeta> in, std::vector<dnnl::memory::desc>* wanted,
                       std::vector<RtMeta>* out) override {
    QB_RETURN_IF_ERROR(RequireNoPostOps(node));
    QB_ASSIGN_OR_RETURN(TransposeParams p, ParseTranspose(node, ParserMetas(node, in)));
    const dnnl::memory::data_type type = ToDnnl(in[0].dtype);
    if (type == dnnl::memory::data_type::undef) return NodeUnimplemented(node, "oneDNN has no such element type");
    if (p.out.empty() || HasZeroDim(p.out)) return NodeUnimplemented(node, "scalar or empty tensor");
    const dnnl::memory::dims in_dims(in[0].shape.begin(), in[0].shape.end());
    const dnnl::memory::dims in_strides = DenseStrides(in_dims);
    dnnl::memory::dims view_strides;
    for (int axis : p.perm) view_strides.push_back(in_strides[axis]);
    view_md_ = dnnl::memory::desc(dnnl::memory::dims(p.out.begin(), p.out.end()), type, view_strides);
    const dnnl::memory::desc dst = PlainDesc(in[0].dtype, p.out);
    try {
      pd_ = dnnl::reorder::primitive_desc(ctx_->engine, view_md_, ctx_->engine, dst);
    } catch (const dnnl::error& e) {
      return NoPrimitive(node, "reorder", e);
    }
    prim_ = dnnl::reorder(pd_);
    src_ = MemoryView(view_md_, ctx_->engine);
    (*wanted)[0] = PlainDesc(in[0].dtype, in[0].shape);
    out->assign(1, RtMeta{in[0].dtype, p.out, dst, nullptr});
    return absl::OkStatus();
  }

  absl::Status Execute(std::span<const dnnl::memory> in, std::span<const dnnl::memory> out) override {
    prim_.execute(ctx_->stream, {{DNNL_ARG_FROM, src_.Of(in[0])}, {DNNL_ARG_TO, out[0]}});
    return absl::OkStatus();
  }

  std::string Implementation() const override { return pd_ ? pd_.impl_info_str() : "none"; }

 private:
  DnnlContext* ctx_;
  dnnl::memory::desc view_md_;  // the input read in output order
  MemoryView src_;
  dnnl::reorder::primitive_desc pd_;
  dnnl::reorder prim_;
};

}  // namespace

std::unique_ptr<Kernel> MakeOneDnnTranspose(DnnlContext* ctx) { return std::make_unique<OneDnnTranspose>(ctx); }

}  // namespace qbench
