// A dense, row-major tensor with shared, 64-byte aligned storage.
//
// Copies share the buffer (like a shared_ptr); Clone() makes a deep copy. The engine
// keeps activations as Tensors between ops; layout-specific (blocked) oneDNN memories
// live inside the oneDNN backend and never escape it.
#pragma once

#include <cassert>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "engine/core/dtype.h"
#include "engine/core/shape.h"

namespace qbench {

class Tensor {
 public:
  Tensor() = default;
  // Allocates a zero-filled tensor. Every dim must be >= 0.
  Tensor(DType dtype, Shape shape);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_[i < 0 ? i + rank() : i]; }
  int64_t num_elements() const { return num_elements_; }
  size_t nbytes() const { return static_cast<size_t>(num_elements_) * SizeOf(dtype_); }
  bool empty() const { return buffer_ == nullptr; }

  void* raw() { return buffer_.get(); }
  const void* raw() const { return buffer_.get(); }
  template <class T> T* data() {
    assert(DTypeOf<T>::value == dtype_);
    return static_cast<T*>(raw());
  }
  template <class T> const T* data() const {
    assert(DTypeOf<T>::value == dtype_);
    return static_cast<const T*>(raw());
  }

  // Same storage, new shape with the same element count.
  Tensor Reshaped(Shape shape) const;
  Tensor Clone() const;
  // Converts to another element type (f16/bf16/f64/int -> f32 and back where meaningful).
  Tensor CastTo(DType dtype) const;

  std::string DebugString() const;  // dtype, shape and the first few values

  // Wraps a float vector (tests and small constants).
  static Tensor FromFloats(const Shape& shape, const std::vector<float>& values);
  static Tensor FromInt64s(const Shape& shape, const std::vector<int64_t>& values);
  static Tensor Scalar(float v) { return FromFloats({}, {v}); }
  // A non-owning view of external memory (the caller keeps it alive while the view is used).
  static Tensor WrapExternal(DType dtype, Shape shape, void* data);

 private:
  DType dtype_ = DType::kF32;
  Shape shape_;
  int64_t num_elements_ = 0;
  std::shared_ptr<uint8_t> buffer_;
};

}  // namespace qbench
