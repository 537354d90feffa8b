// QuantizeLinear and DequantizeLinear of activations as oneDNN reorders (oneDNN 2.6:
// dst = oscale * (src - zp_src) + zp_dst, so quantizing takes 1/s, dequantizing s). The
// output keeps the input's layout (blocked or plain) with the other element type, so no
// layout reorder is added around them. A narrow n-bit grid is clamped after the reorder.
// Per-axis parameters on runtime tensors go to the reference kernel.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/onednn/registry.h"
#include "engine/kernels/onednn/util.h"
#include "engine/ops/op_util.h"
#include "engine/ops/quantize_linear.h"

namespace qbench {
namespace {

class QdqReorder final : public Kernel {
 public:
  explicit QdqReorder(DnnlContext* ctx) : ctx_(ctx) {}

  absl::Status Prepare(const Node& node, std::span<const RtMeta> in, std::vector<dnnl::memory::desc>* wanted,
                       std::vector<RtMeta>* out) override {
    if (in[0].constant) return NodeUnimplemented(node, "constant input (folded elsewhere)");
    for (size_t i = 1; i < node.inputs.size(); ++i)
      if (node.inputs[i] >= 0 && in[i].constant == nullptr) return NodeUnimplemented(node, "runtime scale or zero point");
    QB_ASSIGN_OR_RETURN(p_, QdqParams(node, ParserMetas(node, in), static_cast<int>(in[0].shape.size())));
    if (p_.per_channel()) return NodeUnimplemented(node, "per-axis parameters on a runtime tensor");
    if (HasZeroDim(in[0].shape)) return NodeUnimplemented(node, "empty tensor");
    quantize_ = node.op_type == "QuantizeLinear";
    if (quantize_ && in[0].dtype != DType::kF32) return NodeUnimplemented(node, "input is not float32");
    const DType out_type = quantize_ ? p_.dtype : DType::kF32;
    const dnnl::memory::desc src = in[0].md.is_zero() ? PlainDesc(in[0].dtype, in[0].shape) : in[0].md;
    const dnnl::memory::desc dst = WithDataType(src, out_type);
    dnnl::primitive_attr attr;
    if (quantize_) {
      attr.set_output_scales(0, {1.f / p_.scale[0]});
      if (p_.zero_point[0] != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {p_.zero_point[0]});
    } else {
      attr.set_output_scales(0, {p_.scale[0]});
      if (p_.zero_point[0] != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {p_.zero_point[0]});
    }
    try {
      pd_ = dnnl::reorder::primitive_desc(ctx_->engine, src, ctx_->engine, dst, attr);
    } catch (const dnnl::error& e) {
      return NoPrimitive(node, "quantizing reorder", e);
    }
    prim_ = dnnl::reorder(pd_);
    for (size_t i = 0; i < node.inputs.size(); ++i)
      if (node.inputs[i] >= 0) (*wanted)[i] = i == 0 ? src : PlainDesc(in[i].dtype, in[i].shape);
    clamp_ = quantize_ && p_.narrow();
    out->assign(1, RtMeta{out_type, in[0].shape, dst, nullptr});
    return absl::OkStatus();
  }

  absl::Status Execute(std::span<const dnnl::memory> in, std::span<const dnnl::memory> out) override {
    prim_.execute(ctx_->stream, const_cast<dnnl::memory&>(in[0]), const_cast<dnnl::memory&>(out[0]));
    if (clamp_) {
      ctx_->stream.wait();
      const size_t n = out[0].get_desc().get_size();
      if (p_.dtype == DType::kU8) {
        auto* q = static_cast<uint8_t*>(out[0].get_data_handle());
        for (size_t i = 0; i < n; ++i) q[i] = static_cast<uint8_t>(std::clamp<int32_t>(q[i], p_.qmin, p_.qmax));
      } else {
        auto* q = static_cast<int8_t*>(out[0].get_data_handle());
        for (size_t i = 0; i < n; ++i) q[i] = static_cast<int8_t>(std::clamp<int32_t>(q[i], p_.qmin, p_.qmax));
      }
    }
    return absl::OkStatus();
  }

  std::string Implementation() const override { return pd_ ? pd_.impl_info_str() : "none"; }

 private:
  DnnlContext* ctx_;
  QuantParams p_;
  bool quantize_ = true, clamp_ = false;
  dnnl::reorder::primitive_desc pd_;
  dnnl::reorder prim_;
};

}  // namespace

std::unique_ptr<Kernel> MakeQdqReorder(DnnlContext* ctx) { return std::make_unique<QdqReorder>(ctx); }

}  // namespace qbench
