#include "engine/kernels/onednn/util.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/ops/op_util.h"

namespace qbench {

std::vector<TensorMeta> ParserMetas(const Node& node, std::span<const RtMeta> in) {
  std::vector<TensorMeta> tm(node.inputs.size());
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    if (node.inputs[i] < 0) tm[i].present = false;
    else tm[i] = {in[i].dtype, in[i].shape, in[i].constant, true};
    // Quantized inputs parse as the float tensors they stand for (shape rules are the same).
    if (node.quant && i < node.quant->inputs.size() && node.quant->inputs[i]) {
      tm[i].dtype = DType::kF32;
      tm[i].value = nullptr;
    }
  }
  return tm;
}

bool HasZeroDim(const Shape& shape) {
  for (int64_t d : shape)
    if (d == 0) return true;
  return false;
}

dnnl::memory::dims DenseStrides(const dnnl::memory::dims& dims) {
  dnnl::memory::dims strides(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * dims[i + 1];
  return strides;
}

dnnl::memory::desc WithDataType(const dnnl::memory::desc& md, DType t) {
  dnnl_memory_desc_t raw = md.data;
  raw.data_type = static_cast<dnnl_data_type_t>(ToDnnl(t));
  return dnnl::memory::desc(raw);
}

dnnl::memory::desc PlainF32(const dnnl::memory::dims& dims) {
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, DenseStrides(dims));
}

dnnl::memory Prepack(DnnlContext* ctx, const dnnl::memory::desc& src_md, const void* src,
                     const dnnl::memory::desc& dst_md) {
  dnnl::memory user(src_md, ctx->engine, const_cast<void*>(src));
  dnnl::memory packed(dst_md, ctx->engine);
  dnnl::reorder(user, packed).execute(ctx->stream, user, packed);
  ctx->stream.wait();
  return packed;
}

absl::Status RequireNoPostOps(const Node& node) {
  if (node.post_ops.empty()) return absl::OkStatus();
  return NodeUnimplemented(node, "fused post-ops on this op are not supported by the oneDNN kernel");
}

absl::Status NoPrimitive(const Node& node, const std::string& what, const dnnl::error& e) {
  return NodeUnimplemented(node, absl::StrCat("oneDNN has no ", what, " for this case: ", e.what()));
}

absl::Status RejectRefImpl(const Node& node, const dnnl::primitive_desc_base& pd) {
  const std::string impl = pd.impl_info_str();
  if (absl::StartsWith(impl, "ref"))
    return NodeUnimplemented(node, absl::StrCat("oneDNN offers only its slow reference implementation \"", impl,
                                                "\""));
  return absl::OkStatus();
}

}  // namespace qbench
