// Concat as one oneDNN concat primitive: out[..., offset_i + j, ...] = in_i[..., j, ...]
// along the axis ParseConcat resolves, offset_i = sum of the earlier inputs' extents.
//
// Layout: when every input is a runtime value in the same non-plain layout (Conv outputs
// in nChw16c, say) and the axis is not split by a block, or each input's extent on it is
// a multiple of the block, the inputs are taken as they are and oneDNN derives the output
// layout from them (no reorders). Otherwise every input and the output are plain.
#include <algorithm>
#include <optional>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/onednn/registry.h"
#include "engine/kernels/onednn/util.h"
#include "engine/ops/concat.h"
#include "engine/ops/op_util.h"

namespace qbench {
namespace {

// Blocking of a descriptor: inner blocks and the order of the outer strides.
struct Blocking {
  std::vector<int64_t> inner_blks, inner_idxs, order;
  bool operator==(const Blocking&) const = default;
};

std::optional<Blocking> BlockingOf(const dnnl::memory::desc& md) {
  const dnnl_memory_desc_t& d = md.data;
  if (d.format_kind != dnnl_blocked) return std::nullopt;
  const dnnl_blocking_desc_t& b = d.format_desc.blocking;
  Blocking out;
  out.inner_blks.assign(b.inner_blks, b.inner_blks + b.inner_nblks);
  out.inner_idxs.assign(b.inner_idxs, b.inner_idxs + b.inner_nblks);
  for (int i = 0; i < d.ndims; ++i) out.order.push_back(i);
  std::stable_sort(out.order.begin(), out.order.end(),
                   [&](int64_t x, int64_t y) { return b.strides[x] > b.strides[y]; });
  return out;
}

class OneDnnConcat final : public Kernel {
 public:
  explicit OneDnnConcat(DnnlContext* ctx) : ctx_(ctx) {}

  absl::Status Prepare(const Node& node, std::span<const RtMeta> in, std::vector<dnnl::memory::desc>* wanted,
                       std::vector<RtMeta>* out) override {
    QB_RETURN_IF_ERROR(RequireNoPostOps(node));
    QB_ASSIGN_OR_RETURN(ConcatParams p, ParseConcat(node, ParserMetas(node, in)));
    p.dtype = in[0].dtype;  // an integer concat (lowered QDQ, shared parameters) keeps its type
    if (ToDnnl(p.dtype) == dnnl::memory::data_type::undef)
      return NodeUnimplemented(node, "oneDNN has no type for this element type");
    const size_t n = node.inputs.size();
    for (size_t i = 0; i < n; ++i)
      if (HasZeroDim(in[i].shape)) return NodeUnimplemented(node, "empty input");
    std::vector<dnnl::memory::desc> srcs;
    if (KeepsBlockedLayout(in.subspan(0, n), p.axis)) {
      for (size_t i = 0; i < n; ++i) srcs.push_back(in[i].md);
      if (TryCreate(p.axis, srcs, nullptr) && !std::string(pd_.impl_info_str()).starts_with("ref")) {
        for (size_t i = 0; i < n; ++i) (*wanted)[i] = srcs[i];
        out->assign(1, RtMeta{p.dtype, p.out, pd_.dst_desc(), nullptr});
        prim_ = dnnl::concat(pd_);
        return absl::OkStatus();
      }
      srcs.clear();
    }
    for (size_t i = 0; i < n; ++i) srcs.push_back(PlainDesc(p.dtype, in[i].shape));
    const dnnl::memory::desc dst = PlainDesc(p.dtype, p.out);
    std::string why;
    if (!TryCreate(p.axis, srcs, &dst, &why)) return NodeUnimplemented(node, "oneDNN has no concat: " + why);
    for (size_t i = 0; i < n; ++i) (*wanted)[i] = srcs[i];
    out->assign(1, RtMeta{p.dtype, p.out, dst, nullptr});
    prim_ = dnnl::concat(pd_);
    return absl::OkStatus();
  }

  absl::Status Execute(std::span<const dnnl::memory> in, std::span<const dnnl::memory> out) override {
    std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_DST, out[0]}};
    for (size_t i = 0; i < in.size(); ++i) args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i)] = in[i];
    prim_.execute(ctx_->stream, args);
    return absl::OkStatus();
  }

  std::string Implementation() const override { return pd_ ? pd_.impl_info_str() : "none"; }

 private:
  // Whether the inputs are runtime values sharing one non-plain layout that a concat along
  // `axis` can keep: the axis is not blocked, or every extent on it fills whole blocks.
  static bool KeepsBlockedLayout(std::span<const RtMeta> in, int axis) {
    std::optional<Blocking> first;
    for (size_t i = 0; i < in.size(); ++i) {
      if (in[i].constant != nullptr || in[i].md == PlainDesc(in[i].dtype, in[i].shape)) return false;
      std::optional<Blocking> b = BlockingOf(in[i].md);
      if (!b || (first && !(*b == *first))) return false;
      if (!first) first = b;
      for (size_t k = 0; k < b->inner_idxs.size(); ++k)
        if (b->inner_idxs[k] == axis && in[i].shape[axis] % b->inner_blks[k] != 0) return false;
    }
    return first.has_value();
  }

  bool TryCreate(int axis, const std::vector<dnnl::memory::desc>& srcs, const dnnl::memory::desc* dst,
                 std::string* why = nullptr) {
    try {
      pd_ = dst ? dnnl::concat::primitive_desc(*dst, axis, srcs, ctx_->engine)
                : dnnl::concat::primitive_desc(axis, srcs, ctx_->engine);
      return true;
    } catch (const dnnl::error& e) {
      if (why) *why = e.what();
      return false;
    }
  }

  DnnlContext* ctx_;
  dnnl::concat::primitive_desc pd_;
  dnnl::concat prim_;
};

}  // namespace

std::unique_ptr<Kernel> MakeOneDnnConcat(DnnlContext* ctx) { return std::make_unique<OneDnnConcat>(ctx); }

}  // namespace qbench
