// Quantization parameters of one tensor: real = scale * (q - zero_point).
//
// Per-tensor parameters have one scale and one zero point (axis = -1); per-channel ones
// have one per index along `axis`. The stored integer type is s8 or u8; a narrower n-bit
// grid sits inside it as [qmin, qmax] (for example [-8, 7] for signed 4-bit), so n-bit
// values run on the int8 kernels unchanged and their accuracy is exactly n-bit.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/dtype.h"

namespace qbench {

struct QuantParams {
  DType dtype = DType::kU8;       // storage: kU8 or kS8
  std::vector<float> scale;       // > 0, size 1 or channels
  std::vector<int32_t> zero_point;  // same size as scale, each in [qmin, qmax]
  int axis = -1;                  // -1: per tensor
  int32_t qmin = 0, qmax = 255;   // the grid; inside the storage type's range
  int bits = 8;                   // log2 of the grid size (qmax - qmin + 1 = 2^bits)

  bool per_channel() const { return axis >= 0; }
  bool narrow() const;            // grid smaller than the storage type
  bool operator==(const QuantParams&) const = default;
  std::string DebugString() const;
};

// The integer grid of an n-bit type: signed [-2^(n-1), 2^(n-1) - 1], unsigned [0, 2^n - 1].
struct QuantGrid {
  int bits = 8;
  bool is_signed = false;
  int32_t qmin() const { return is_signed ? -(1 << (bits - 1)) : 0; }
  int32_t qmax() const { return is_signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1; }
  DType storage() const { return is_signed ? DType::kS8 : DType::kU8; }
};

// ONNX QuantizeLinear on one value: clamp(round_half_even(x / scale) + zero_point).
// std::nearbyint rounds half to even in the default rounding mode.
inline int32_t QuantizeValue(float x, float scale, int32_t zero_point, int32_t qmin, int32_t qmax) {
  const float q = std::nearbyint(x / scale) + static_cast<float>(zero_point);
  return static_cast<int32_t>(std::clamp(q, static_cast<float>(qmin), static_cast<float>(qmax)));
}
inline float DequantizeValue(int32_t q, float scale, int32_t zero_point) {
  return scale * static_cast<float>(q - zero_point);
}

}  // namespace qbench
