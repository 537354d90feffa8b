#include "engine/kernels/onednn/int8_util.h"

#include "absl/strings/str_cat.h"
#include "engine/kernels/onednn/post_ops.h"
#include "engine/runtime/kernel.h"
#include "engine/ops/op_util.h"

namespace qbench {
namespace {

bool CommutesWithScale(const std::string& kind) {
  return kind == "Relu" || kind == "LeakyRelu" || kind == "Clip" || kind == "Sum";
}

}  // namespace

absl::StatusOr<Int8Attr> BuildInt8Attr(const Node& node, int64_t channels, int dst_mask) {
  const NodeQuant& q = *node.quant;
  const QuantParams& px = *q.inputs[0];
  const QuantParams& pw = *q.inputs[1];
  const bool quantized_out = q.output.has_value();
  bool commutes = true;
  for (const PostOp& p : node.post_ops) commutes &= CommutesWithScale(p.kind);
  const float k = quantized_out && commutes ? 1.f / q.output->scale[0] : 1.f;
  Int8Attr a;
  std::vector<float> oscale(channels);
  a.bias_scale.resize(channels);
  for (int64_t c = 0; c < channels; ++c) {
    const float sw = pw.scale[pw.scale.size() == 1 ? 0 : c];
    oscale[c] = px.scale[0] * sw * k;
    a.bias_scale[c] = 1.f / (px.scale[0] * sw);
  }
  a.attr.set_output_scales(dst_mask, oscale);
  if (px.zero_point[0] != 0) a.attr.set_zero_points(DNNL_ARG_SRC, 0, {px.zero_point[0]});
  if (quantized_out && q.output->zero_point[0] != 0) a.attr.set_zero_points(DNNL_ARG_DST, 0, {q.output->zero_point[0]});
  dnnl::post_ops po;
  for (const PostOp& p : node.post_ops) {
    if (p.kind == "Sum") {
      if (q.sum) {
        po.append_sum(q.sum->scale[0] * k, q.sum->zero_point[0], ToDnnl(q.sum->dtype));
      } else if (quantized_out) {
        return NodeUnimplemented(node, "a float residual cannot be added into a quantized output");
      } else {
        po.append_sum(1.f);
      }
      continue;
    }
    const float scale = p.kind == "Clip" ? k : 1.f;
    absl::Status s = AppendEltwise(po, p.kind, p.alpha * scale, p.beta * scale);
    if (!s.ok()) return NodeUnimplemented(node, std::string(s.message()));
  }
  if (quantized_out && !commutes) po.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, 1.f / q.output->scale[0], 0.f);
  if (quantized_out && q.output->narrow()) {
    const float z = static_cast<float>(q.output->zero_point[0]);
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, q.output->qmin - z, q.output->qmax - z);
  }
  a.attr.set_post_ops(po);
  return a;
}

absl::StatusOr<dnnl::primitive_attr> BuildDynamicInt8Attr(const Node& node, int64_t channels, int dst_mask,
                                                          const dnnl::memory::desc& scalar_md,
                                                          const dnnl::memory::desc& bias_md) {
  const QuantParams& pw = *node.quant->inputs[1];
  std::vector<float> oscale(channels);
  for (int64_t c = 0; c < channels; ++c) oscale[c] = pw.scale[pw.scale.size() == 1 ? 0 : c];
  dnnl::primitive_attr attr;
  attr.set_output_scales(dst_mask, oscale);
  attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
  dnnl::post_ops po;
  po.append_binary(dnnl::algorithm::binary_mul, scalar_md);
  po.append_binary(dnnl::algorithm::binary_add, bias_md);
  for (const PostOp& p : node.post_ops) {
    if (p.kind == "Sum") {
      po.append_sum(1.f);
      continue;
    }
    absl::Status s = AppendEltwise(po, p.kind, p.alpha, p.beta);
    if (!s.ok()) return NodeUnimplemented(node, std::string(s.message()));
  }
  attr.set_post_ops(po);
  return attr;
}

void DynamicArgs::Init(const dnnl::engine& engine, const dnnl::memory::desc& scalar_md, dnnl::memory bias) {
  scale_view_ = dnnl::memory(scalar_md, engine, DNNL_MEMORY_NONE);
  zp_ = dnnl::memory({{1}, dnnl::memory::data_type::s32, dnnl::memory::format_tag::x}, engine);
  bias_ = std::move(bias);
}

void DynamicArgs::Bind(const dnnl::memory& scale, const dnnl::memory& zero_point,
                       std::unordered_map<int, dnnl::memory>* args) {
  scale_view_.set_data_handle(scale.get_data_handle());
  *static_cast<int32_t*>(zp_.get_data_handle()) = *static_cast<const uint8_t*>(zero_point.get_data_handle());
  (*args)[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = zp_;
  (*args)[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] = scale_view_;
  (*args)[DNNL_ARG_ATTR_MULTIPLE_POST_OP(1) | DNNL_ARG_SRC_1] = bias_;
}

int Int8ExactWeightBits() {
  // The ISAs whose int8 dot products accumulate in int32 without an int16 step.
  static constexpr dnnl::cpu_isa kExact[] = {dnnl::cpu_isa::avx512_core_vnni, dnnl::cpu_isa::avx512_core_bf16,
                                             dnnl::cpu_isa::avx512_core_amx, dnnl::cpu_isa::avx2_vnni};
  static const int bits = [] {
    const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
    for (dnnl::cpu_isa k : kExact)
      if (k == isa) return 8;
    return 7;
  }();
  return bits;
}

}  // namespace qbench
