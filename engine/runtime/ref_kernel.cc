// The reference adapter: runs any op's reference kernel on plain layouts. It is the whole
// reference backend, and the oneDNN backend's fallback for ops without a oneDNN kernel.
#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/ops/op_def.h"
#include "engine/ops/op_util.h"
#include "engine/ops/quantize_linear.h"
#include "engine/runtime/kernel.h"
#include "engine/runtime/ref_kernel.h"

namespace qbench {
namespace {

// The parameters of input i of a lowered node (the Sum residual counts after the node's
// inputs), or null when it arrives as float.
const QuantParams* QuantOf(const Node& node, size_t i) {
  if (!node.quant) return nullptr;
  if (i < node.inputs.size()) return i < node.quant->inputs.size() && node.quant->inputs[i] ? &*node.quant->inputs[i] : nullptr;
  return node.quant->sum ? &*node.quant->sum : nullptr;
}

class ReferenceKernel final : public Kernel {
 public:
  absl::Status Prepare(const Node& node, std::span<const RtMeta> in, std::vector<dnnl::memory::desc>* wanted,
                       std::vector<RtMeta>* out) override {
    node_ = node;
    def_ = FindOp(node.op_type);
    if (def_ == nullptr) return NodeUnimplemented(node, "op is not supported");
    in_meta_.assign(in.begin(), in.end());
    std::vector<TensorMeta> tm(node.inputs.size());
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (node.inputs[i] < 0) {
        tm[i].present = false;
        continue;
      }
      tm[i] = {in[i].dtype, in[i].shape, in[i].constant, true};
      (*wanted)[i] = PlainDesc(in[i].dtype, in[i].shape);
      if (const QuantParams* q = QuantOf(node, i)) {
        // A lowered integer node on the reference: dequantize, float op, quantize.
        if (in[i].constant) dequantized_[i] = DequantizeWith(*in[i].constant, *q);
        tm[i] = {DType::kF32, in[i].shape, in[i].constant ? &dequantized_[i] : nullptr, true};
      }
    }
    for (size_t i = node.inputs.size(); i < in.size(); ++i) (*wanted)[i] = PlainDesc(in[i].dtype, in[i].shape);
    std::vector<TensorMeta> om(node.outputs.size());
    QB_RETURN_IF_ERROR(def_->infer(node, tm, om));
    if (node.quant && node.quant->output) om[0].dtype = node.quant->output->dtype;
    out->clear();
    for (const TensorMeta& m : om) out->push_back({m.dtype, m.shape, PlainDesc(m.dtype, m.shape), nullptr});
    out_meta_ = *out;
    return absl::OkStatus();
  }

  absl::Status Execute(std::span<const dnnl::memory> in, std::span<const dnnl::memory> out) override {
    std::vector<Tensor> tin(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      if (i < node_.inputs.size() && node_.inputs[i] < 0) continue;
      tin[i] = in_meta_[i].constant ? *in_meta_[i].constant : ViewOf(in[i], in_meta_[i].dtype, in_meta_[i].shape);
      if (dequantized_.count(i)) tin[i] = dequantized_[i];
      else if (node_.quant && node_.quant->dynamic() && i == 0) tin[i] = DequantizeDynamic(tin[0], in);
      else if (const QuantParams* q = QuantOf(node_, i)) tin[i] = DequantizeWith(tin[i], *q);
    }
    if (node_.quant && node_.quant->dynamic()) tin.resize(tin.size() - 2);  // not Sum residuals
    std::vector<Tensor> tout;
    Node plain = node_;
    plain.quant.reset();
    QB_RETURN_IF_ERROR(RunReference(*def_, plain, tin, &tout));
    if (node_.quant && node_.quant->output) {
      Tensor q;
      QuantizeInto(tout[0], *node_.quant->output, &q);
      tout[0] = q;
    }
    for (size_t i = 0; i < tout.size() && i < out.size(); ++i)
      if (tout[i].nbytes()) std::memcpy(out[i].get_data_handle(), tout[i].raw(), tout[i].nbytes());
    return absl::OkStatus();
  }

  std::string Implementation() const override { return "reference"; }

 private:
  // Input 0 of a dynamic layer: real = s * (q - z) with s and z the last two inputs.
  Tensor DequantizeDynamic(const Tensor& q, std::span<const dnnl::memory> in) const {
    QuantParams p;
    p.dtype = q.dtype();
    p.scale = {*static_cast<const float*>(in[in.size() - 2].get_data_handle())};
    p.zero_point = {*static_cast<const uint8_t*>(in[in.size() - 1].get_data_handle())};
    return DequantizeWith(q, p);
  }

 public:

 private:
  Node node_;
  const OpDef* def_ = nullptr;
  std::vector<RtMeta> in_meta_, out_meta_;
  std::map<size_t, Tensor> dequantized_;  // constant quantized inputs, dequantized once
};

}  // namespace

std::unique_ptr<Kernel> MakeReferenceKernel() { return std::make_unique<ReferenceKernel>(); }

}  // namespace qbench
