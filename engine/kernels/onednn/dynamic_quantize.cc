// DynamicQuantizeLinear on oneDNN: the u8 parameters of this very tensor,
//   scale = (max(0, max x) - min(0, min x)) / 255,  zero point = sat(round(-min / scale)),
// then q = sat(round_half_even(x / scale) + zero point) element by element in the input's
// own layout (a blocked layout's padding holds zeros, which the range includes anyway):
// exactly ONNX's definition. (A oneDNN reorder would multiply by 1/scale and could
// differ by one step at exact ties.)
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/onednn/registry.h"
#include "engine/kernels/onednn/util.h"
#include "engine/ops/op_util.h"

namespace qbench {
namespace {

class DynamicQuantize final : public Kernel {
 public:
  explicit DynamicQuantize(DnnlContext* ctx) : ctx_(ctx) {}

  absl::Status Prepare(const Node& node, std::span<const RtMeta> in, std::vector<dnnl::memory::desc>* wanted,
                       std::vector<RtMeta>* out) override {
    if (in[0].constant || in[0].dtype != DType::kF32 || HasZeroDim(in[0].shape))
      return NodeUnimplemented(node, "needs a non-empty runtime float32 input");
    node_ = node;
    const dnnl::memory::desc src = in[0].md;
    const dnnl::memory::desc dst = WithDataType(src, DType::kU8);
    (*wanted)[0] = src;
    out->clear();
    out->push_back(RtMeta{DType::kU8, in[0].shape, dst, nullptr});
    if (node.outputs.size() > 1) out->push_back(RtMeta{DType::kF32, {}, PlainDesc(DType::kF32, {}), nullptr});
    if (node.outputs.size() > 2) out->push_back(RtMeta{DType::kU8, {}, PlainDesc(DType::kU8, {}), nullptr});
    return absl::OkStatus();
  }

  absl::Status Execute(std::span<const dnnl::memory> in, std::span<const dnnl::memory> out) override {
    const float* x = static_cast<const float*>(in[0].get_data_handle());
    const int64_t n = static_cast<int64_t>(in[0].get_desc().get_size() / sizeof(float));
    float lo = 0.f, hi = 0.f;
    bool finite = true;
#pragma omp parallel for reduction(min : lo) reduction(max : hi) reduction(&& : finite)
    for (int64_t i = 0; i < n; ++i) {
      finite = finite && std::isfinite(x[i]);
      lo = std::min(lo, x[i]);
      hi = std::max(hi, x[i]);
    }
    if (!finite) return NodeError(node_, "input holds NaN or Inf");
    float scale = (hi - lo) / 255.f;
    if (scale == 0.f) scale = 1.f;
    const int32_t zp = static_cast<int32_t>(std::clamp(std::nearbyint(-lo / scale), 0.f, 255.f));
    uint8_t* q = static_cast<uint8_t*>(out[0].get_data_handle());
    const float fzp = static_cast<float>(zp);
    // Round half to even without a libm call, so the loop vectorizes: for |v| < 2^22,
    // (v + 1.5 * 2^23) - 1.5 * 2^23 is v rounded to the nearest integer, ties to even,
    // in the default rounding mode. Here |x / scale| <= 255, as scale comes from x itself.
    constexpr float kMagic = 12582912.f;
#pragma omp parallel for
    for (int64_t i = 0; i < n; ++i) {
      const float r = (x[i] / scale + kMagic) - kMagic;
      q[i] = static_cast<uint8_t>(std::clamp(r + fzp, 0.f, 255.f));
    }
    if (out.size() > 1 && out[1]) *static_cast<float*>(out[1].get_data_handle()) = scale;
    if (out.size() > 2 && out[2]) *static_cast<uint8_t*>(out[2].get_data_handle()) = static_cast<uint8_t>(zp);
    return absl::OkStatus();
  }

  std::string Implementation() const override { return "qbench:dynamic_quantize"; }

 private:
  DnnlContext* ctx_;
  Node node_;
};

}  // namespace

std::unique_ptr<Kernel> MakeDynamicQuantize(DnnlContext* ctx) { return std::make_unique<DynamicQuantize>(ctx); }

}  // namespace qbench
