// Integer 2-D MaxPool on channels-last (nhwc) u8/s8 tensors: the output pixel is the
// element-wise max of the window's input pixels, each a contiguous run of C bytes.
//
// Why not oneDNN's: its int8 pooling ("jit_int") works on vectors along C, which for the
// 16-32 channel layers of small CNNs fill a quarter of a register, and measured 2-3x
// slower than the float pooling it replaces. Here the inner loop is a plain byte max over
// C (the compiler vectorizes it), windows are clipped to the image (padding never wins a
// max), and dilation is supported. Max commutes with the affine map, so the result is
// exactly the quantized float max (the reference kernel is the oracle in the tests).
// Anything else (3-D, windows entirely in padding) goes to oneDNN's pooling kernel.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/onednn/registry.h"
#include "engine/kernels/onednn/util.h"
#include "engine/ops/op_util.h"
#include "engine/ops/pool.h"

namespace qbench {
namespace {

using tag = dnnl::memory::format_tag;

template <class T>
void MaxPoolNhwc(const T* x, T* y, int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh, int64_t ow,
                 const Window& win) {
  const int64_t kh = win.kernel[0], kw = win.kernel[1], sh = win.strides[0], sw = win.strides[1];
  const int64_t dh = win.dilations[0], dw = win.dilations[1], ph = win.pads_begin[0], pw = win.pads_begin[1];
#pragma omp parallel for collapse(2)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oy = 0; oy < oh; ++oy) {
      for (int64_t ox = 0; ox < ow; ++ox) {
        T* __restrict out = y + ((b * oh + oy) * ow + ox) * c;
        bool first = true;
        for (int64_t ky = 0; ky < kh; ++ky) {
          const int64_t iy = oy * sh - ph + ky * dh;
          if (iy < 0 || iy >= h) continue;
          for (int64_t kx = 0; kx < kw; ++kx) {
            const int64_t ix = ox * sw - pw + kx * dw;
            if (ix < 0 || ix >= w) continue;
            const T* __restrict in = x + ((b * h + iy) * w + ix) * c;
            if (first) {
              for (int64_t k = 0; k < c; ++k) out[k] = in[k];
              first = false;
            } else {
              for (int64_t k = 0; k < c; ++k) out[k] = std::max(out[k], in[k]);
            }
          }
        }
      }
    }
}

class Int8MaxPool final : public Kernel {
 public:
  explicit Int8MaxPool(DnnlContext* ctx) : ctx_(ctx) {}

  absl::Status Prepare(const Node& node, std::span<const RtMeta> in, std::vector<dnnl::memory::desc>* wanted,
                       std::vector<RtMeta>* out) override {
    absl::Status own = PrepareOwn(node, in, wanted, out);
    if (own.ok() || !absl::IsUnimplemented(own)) return own;
    fallback_ = MakeOneDnnPool(ctx_);
    return fallback_->Prepare(node, in, wanted, out);
  }

  absl::Status Execute(std::span<const dnnl::memory> in, std::span<const dnnl::memory> out) override {
    if (fallback_) return fallback_->Execute(in, out);
    const void* x = in[0].get_data_handle();
    void* y = out[0].get_data_handle();
    if (type_ == DType::kU8)
      MaxPoolNhwc(static_cast<const uint8_t*>(x), static_cast<uint8_t*>(y), n_, c_, h_, w_, oh_, ow_, p_.window);
    else
      MaxPoolNhwc(static_cast<const int8_t*>(x), static_cast<int8_t*>(y), n_, c_, h_, w_, oh_, ow_, p_.window);
    return absl::OkStatus();
  }

  std::string Implementation() const override {
    return fallback_ ? fallback_->Implementation() : "qbench:int8_maxpool_nhwc";
  }

 private:
  absl::Status PrepareOwn(const Node& node, std::span<const RtMeta> in, std::vector<dnnl::memory::desc>* wanted,
                          std::vector<RtMeta>* out) {
    QB_RETURN_IF_ERROR(RequireNoPostOps(node));
    QB_ASSIGN_OR_RETURN(p_, ParsePool(node, ParserMetas(node, in)));
    type_ = in[0].dtype;
    if (p_.kind != PoolKind::kMax || p_.in_spatial.size() != 2 || (type_ != DType::kU8 && type_ != DType::kS8))
      return NodeUnimplemented(node, "not a 2-D integer MaxPool");
    if (HasZeroDim(in[0].shape)) return NodeUnimplemented(node, "empty tensor");
    const Window& w = p_.window;
    for (int d = 0; d < 2; ++d) {
      const int64_t extent = (w.kernel[d] - 1) * w.dilations[d] + 1;
      if (w.pads_begin[d] >= extent || w.pads_end[d] >= extent)
        return NodeUnimplemented(node, "a window may lie entirely in the padding");
    }
    n_ = p_.batch;
    c_ = p_.channels;
    h_ = p_.in_spatial[0];
    w_ = p_.in_spatial[1];
    oh_ = w.out[0];
    ow_ = w.out[1];
    const dnnl::memory::data_type dt = ToDnnl(type_);
    (*wanted)[0] = dnnl::memory::desc({n_, c_, h_, w_}, dt, tag::nhwc);
    out->assign(1, RtMeta{type_, Shape{n_, c_, oh_, ow_}, dnnl::memory::desc({n_, c_, oh_, ow_}, dt, tag::nhwc), nullptr});
    for (size_t i = 1; i < node.outputs.size(); ++i)
      out->push_back(RtMeta{DType::kS64, Shape{0}, PlainDesc(DType::kS64, Shape{0}), nullptr});
    return absl::OkStatus();
  }

  DnnlContext* ctx_;
  PoolParams p_;
  DType type_ = DType::kU8;
  int64_t n_ = 0, c_ = 0, h_ = 0, w_ = 0, oh_ = 0, ow_ = 0;
  std::unique_ptr<Kernel> fallback_;
};

}  // namespace

std::unique_ptr<Kernel> MakeInt8MaxPool(DnnlContext* ctx) { return std::make_unique<Int8MaxPool>(ctx); }

}  // namespace qbench
