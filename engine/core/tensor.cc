#include "engine/core/tensor.h"

#include <cstdlib>
#include <new>
#include <sstream>

namespace qbench {
namespace {

std::shared_ptr<uint8_t> Allocate(size_t nbytes) {
  // 64-byte alignment suits AVX-512 loads and oneDNN's preferred alignment.
  const size_t rounded = (nbytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, rounded == 0 ? 64 : rounded);
  return std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p), [](uint8_t* q) { std::free(q); });
}

// Reads element i of any dtype as double (used by CastTo; not a hot path).
double LoadAsDouble(const Tensor& t, int64_t i) {
  const void* p = t.raw();
  switch (t.dtype()) {
    case DType::kF32: return static_cast<const float*>(p)[i];
    case DType::kF16: return HalfToFloat(static_cast<const uint16_t*>(p)[i]);
    case DType::kBF16: return Bf16ToFloat(static_cast<const uint16_t*>(p)[i]);
    case DType::kS8: return static_cast<const int8_t*>(p)[i];
    case DType::kU8: return static_cast<const uint8_t*>(p)[i];
    case DType::kS32: return static_cast<const int32_t*>(p)[i];
    case DType::kS64: return static_cast<double>(static_cast<const int64_t*>(p)[i]);
    case DType::kBool: return static_cast<const uint8_t*>(p)[i] != 0;
    case DType::kF64: return static_cast<const double*>(p)[i];
  }
  return 0;
}

void StoreFromDouble(Tensor& t, int64_t i, double v) {
  void* p = t.raw();
  switch (t.dtype()) {
    case DType::kF32: static_cast<float*>(p)[i] = static_cast<float>(v); break;
    case DType::kF16: break;  // not produced by the engine
    case DType::kBF16: static_cast<uint16_t*>(p)[i] = FloatToBf16(static_cast<float>(v)); break;
    case DType::kS8: static_cast<int8_t*>(p)[i] = static_cast<int8_t>(v); break;
    case DType::kU8: static_cast<uint8_t*>(p)[i] = static_cast<uint8_t>(v); break;
    case DType::kS32: static_cast<int32_t*>(p)[i] = static_cast<int32_t>(v); break;
    case DType::kS64: static_cast<int64_t*>(p)[i] = static_cast<int64_t>(v); break;
    case DType::kBool: static_cast<uint8_t*>(p)[i] = v != 0; break;
    case DType::kF64: static_cast<double*>(p)[i] = v; break;
  }
}

}  // namespace

Tensor::Tensor(DType dtype, Shape shape)
    : dtype_(dtype), shape_(std::move(shape)), num_elements_(NumElements(shape_)) {
  assert(IsStatic(shape_));
  buffer_ = Allocate(nbytes());
}

Tensor Tensor::Reshaped(Shape shape) const {
  assert(NumElements(shape) == num_elements_);
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::Clone() const {
  Tensor t(dtype_, shape_);
  if (nbytes()) std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

Tensor Tensor::CastTo(DType dtype) const {
  if (dtype == dtype_) return Clone();
  Tensor t(dtype, shape_);
  if (dtype_ == DType::kF16 && dtype == DType::kF32) {
    const auto* src = static_cast<const uint16_t*>(raw());
    float* dst = t.data<float>();
    for (int64_t i = 0; i < num_elements_; ++i) dst[i] = HalfToFloat(src[i]);
    return t;
  }
  for (int64_t i = 0; i < num_elements_; ++i) StoreFromDouble(t, i, LoadAsDouble(*this, i));
  return t;
}

std::string Tensor::DebugString() const {
  std::ostringstream os;
  os << Name(dtype_) << ShapeToString(shape_) << " {";
  for (int64_t i = 0; i < std::min<int64_t>(num_elements_, 8); ++i)
    os << (i ? ", " : "") << LoadAsDouble(*this, i);
  if (num_elements_ > 8) os << ", ...";
  return os.str() + "}";
}

Tensor Tensor::FromFloats(const Shape& shape, const std::vector<float>& values) {
  Tensor t(DType::kF32, shape);
  assert(static_cast<int64_t>(values.size()) == t.num_elements());
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(float));
  return t;
}

Tensor Tensor::WrapExternal(DType dtype, Shape shape, void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.num_elements_ = NumElements(t.shape_);
  t.buffer_ = std::shared_ptr<uint8_t>(static_cast<uint8_t*>(data), [](uint8_t*) {});
  return t;
}

Tensor Tensor::FromInt64s(const Shape& shape, const std::vector<int64_t>& values) {
  Tensor t(DType::kS64, shape);
  assert(static_cast<int64_t>(values.size()) == t.num_elements());
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(int64_t));
  return t;
}

}  // namespace qbench
