// Choosing quantization parameters: real = scale * (q - zero_point), q on an n-bit grid.
//
// The rules (see docs/quantization.md for the derivation):
//  - the range always holds zero, so real 0 (padding, ReLU floors) is exactly
//    representable: [lo, hi] -> [min(lo, 0), max(hi, 0)];
//  - asymmetric: scale = (hi - lo) / (qmax - qmin), and the zero point is nudged to the
//    nearest integer of qmin - lo / scale, clamped into the grid;
//  - symmetric: the zero point is the grid's middle (0 for signed grids) and scale covers
//    max(|lo|, |hi|) on the shorter side of the grid ("restricted": amax / 127 at 8 bits,
//    as TFLite does), or, with full_range, amax / ((qmax - qmin) / 2) = amax / 127.5
//    (PyTorch's and oneDNN's symmetric observers: -128 is used, +amax saturates to 127);
//  - a power-of-two constraint rounds the scale *up* to 2^k, so the range stays covered.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/core/quant_params.h"
#include "engine/core/tensor.h"
#include "spec/quant_types.h"

namespace qbench::quant {

struct RangeChoice {
  float lo = 0, hi = 0;
};

// Per-tensor parameters for the real range [lo, hi] (lo <= hi, both finite).
QuantParams ChooseParams(float lo, float hi, const QuantGrid& grid, bool symmetric,
                         ScaleConstraint constraint = ScaleConstraint::kFloat, bool full_range = false);


// Quantizes a float tensor with per-tensor or per-axis parameters into params.dtype.
absl::StatusOr<Tensor> QuantizeTensor(const Tensor& x, const QuantParams& params);
// Dequantizes an s8/u8 (or s32, for biases) tensor to float32.
absl::StatusOr<Tensor> DequantizeTensor(const Tensor& q, const QuantParams& params);

// Chooses parameters for a weight tensor along `axis` (or per tensor when
// !spec.per_channel) and quantizes it. Weights are signed (s8 storage). Fails on NaN or
// Inf, naming `what`.
struct QuantizedWeights {
  Tensor q;          // s8, same shape as the weights
  QuantParams params;
};
absl::StatusOr<QuantizedWeights> QuantizeWeights(const Tensor& w, int axis, const WeightSpec& spec,
                                                 ScaleConstraint constraint, const std::string& what);

// The nearest dyadic number m / 2^k to x > 0 with an m of `bits` bits
// (2^(bits-1) <= m < 2^bits): integer-only requantization multiplies by m and shifts by k.
double NearestDyadic(double x, int bits, int64_t* m = nullptr, int* k = nullptr);

// Signal-to-quantization-noise ratio in dB of `test` against `ref`:
// 10 log10(sum ref^2 / sum (ref - test)^2); +inf when identical.
double Sqnr(std::span<const float> ref, std::span<const float> test);

// The entropy in bits of integer weights (s8 or u8): -sum_v p_v log2 p_v over the values
// v the tensor holds, p_v their frequencies. At most the grid's width; EAGL reads it as the
// bits a layer's weights really use on that grid.
double EntropyBits(const Tensor& q);

}  // namespace qbench::quant
