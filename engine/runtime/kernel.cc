#include "engine/runtime/kernel.h"

namespace qbench {

dnnl::memory::data_type ToDnnl(DType dtype) {
  using dt = dnnl::memory::data_type;
  // Types oneDNN 2.6 has no name for travel as raw bytes of the same width.
  static constexpr struct {
    DType ours;
    dt theirs;
  } kMap[] = {{DType::kF32, dt::f32}, {DType::kF16, dt::f16}, {DType::kBF16, dt::bf16}, {DType::kS8, dt::s8},
              {DType::kU8, dt::u8},   {DType::kS32, dt::s32}, {DType::kBool, dt::u8}};
  for (const auto& m : kMap)
    if (m.ours == dtype) return m.theirs;
  return dt::undef;
}

dnnl::memory::desc PlainDesc(DType dtype, const Shape& shape) {
  dnnl::memory::dims dims(shape.begin(), shape.end());
  if (dims.empty()) dims = {1};
  dnnl::memory::data_type dt = ToDnnl(dtype);
  if (dt == dnnl::memory::data_type::undef) {
    // int64/f64 values (shape tensors between reference steps): described as s32 words of
    // the same byte size, so oneDNN can size and hold them; only reference kernels read them.
    dims.back() *= static_cast<int64_t>(SizeOf(dtype) / 4);
    dt = dnnl::memory::data_type::s32;
  }
  dnnl::memory::dims strides(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * dims[i + 1];
  return dnnl::memory::desc(dims, dt, strides);
}

Tensor ViewOf(const dnnl::memory& m, DType dtype, const Shape& shape) {
  return Tensor::WrapExternal(dtype, shape, m.get_data_handle());
}

}  // namespace qbench
