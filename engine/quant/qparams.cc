#include "engine/quant/qparams.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "engine/ops/quantize_linear.h"

namespace qbench::quant {
namespace {

// Rounds a positive scale up to a power of two: the quantized range only grows.
float PowerOfTwoAtLeast(float s) { return std::exp2(std::ceil(std::log2(s))); }

// Index of element i along `axis` for a row-major shape.
struct AxisWalker {
  int64_t inner = 1, channels = 1;
  AxisWalker(const Shape& shape, int axis) {
    if (axis < 0) return;
    channels = shape[axis];
    for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  }
  int64_t channel(int64_t i) const { return channels == 1 ? 0 : (i / inner) % channels; }
};

}  // namespace

QuantParams ChooseParams(float lo, float hi, const QuantGrid& grid, bool symmetric, ScaleConstraint constraint,
                         bool full_range) {
  QuantParams p;
  p.dtype = grid.storage();
  p.bits = grid.bits;
  p.qmin = grid.qmin();
  p.qmax = grid.qmax();
  lo = std::min(lo, 0.f);
  hi = std::max(hi, 0.f);
  float scale;
  int32_t zp;
  if (symmetric) {
    const float amax = std::max(-lo, hi);
    if (grid.is_signed) {
      zp = 0;
      scale = amax / (full_range ? static_cast<float>(p.qmax - p.qmin) / 2.f : static_cast<float>(p.qmax));
    } else if (lo == 0.f) {
      zp = 0;  // non-negative data on an unsigned grid: the whole grid is usable
      scale = amax / static_cast<float>(p.qmax);
    } else {
      zp = (p.qmin + p.qmax + 1) / 2;
      scale = amax / static_cast<float>(p.qmax - zp);
    }
  } else {
    scale = (hi - lo) / static_cast<float>(p.qmax - p.qmin);
    zp = 0;  // set below, once the scale is final
  }
  if (!(scale > std::numeric_limits<float>::min())) scale = 1.f;  // all-zero range: any scale works
  if (constraint == ScaleConstraint::kPowerOfTwo) scale = PowerOfTwoAtLeast(scale);
  if (!symmetric) {
    // Nudge: the zero point must be an integer of the grid so that 0 is exact.
    const double zp_real = static_cast<double>(p.qmin) - static_cast<double>(lo) / scale;
    zp = static_cast<int32_t>(std::clamp(std::nearbyint(zp_real), static_cast<double>(p.qmin),
                                         static_cast<double>(p.qmax)));
  }
  p.scale = {scale};
  p.zero_point = {zp};
  return p;
}

absl::StatusOr<Tensor> QuantizeTensor(const Tensor& x, const QuantParams& params) {
  if (x.dtype() != DType::kF32) return absl::InvalidArgumentError("QuantizeTensor: input must be float32");
  AxisWalker walk(x.shape(), params.axis);
  if (static_cast<int64_t>(params.scale.size()) != walk.channels)
    return absl::InvalidArgumentError(absl::StrCat("QuantizeTensor: ", params.scale.size(), " scales for ",
                                                   walk.channels, " channels"));
  Tensor q;
  QuantizeInto(x, params, &q);  // the QuantizeLinear reference kernel's own loop
  return q;
}

absl::StatusOr<Tensor> DequantizeTensor(const Tensor& q, const QuantParams& params) {
  AxisWalker walk(q.shape(), params.axis);
  if (static_cast<int64_t>(params.scale.size()) != walk.channels)
    return absl::InvalidArgumentError(absl::StrCat("DequantizeTensor: ", params.scale.size(), " scales for ",
                                                   walk.channels, " channels"));
  if (q.dtype() != DType::kS8 && q.dtype() != DType::kU8 && q.dtype() != DType::kS32)
    return absl::InvalidArgumentError("DequantizeTensor: input must be s8, u8 or s32");
  return DequantizeWith(q, params);  // the DequantizeLinear reference kernel's own loop
}

namespace {

// Quantization MSE of values v under parameters (scale, zp) on [qmin, qmax].
double WeightError(std::span<const float> v, float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  double e = 0;
  for (float x : v) {
    const float d = DequantizeValue(QuantizeValue(x, scale, zp, qmin, qmax), scale, zp) - x;
    e += static_cast<double>(d) * d;
  }
  return e;
}

// Parameters for one channel's values: min/max, or the clipping ratio (searched on a grid
// of 100 ratios in (0, 1]) that minimizes the squared error of the channel.
QuantParams ChannelParams(std::span<const float> v, const WeightSpec& spec, ScaleConstraint constraint) {
  const QuantGrid grid{spec.bits, true};
  float lo = 0, hi = 0;
  for (float x : v) {
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  const bool full = spec.full_range();
  QuantParams best = ChooseParams(lo, hi, grid, spec.symmetric, constraint, full);
  if (spec.method == WeightMethod::kMinMax || v.empty()) return best;
  double best_err = WeightError(v, best.scale[0], best.zero_point[0], best.qmin, best.qmax);
  for (int k = 99; k >= 20; --k) {
    const float r = k / 100.f;
    QuantParams p = ChooseParams(lo * r, hi * r, grid, spec.symmetric, constraint, full);
    const double err = WeightError(v, p.scale[0], p.zero_point[0], p.qmin, p.qmax);
    if (err < best_err) {
      best_err = err;
      best = p;
    }
  }
  return best;
}

}  // namespace

absl::StatusOr<QuantizedWeights> QuantizeWeights(const Tensor& w, int axis, const WeightSpec& spec,
                                                 ScaleConstraint constraint, const std::string& what) {
  if (w.dtype() != DType::kF32) return absl::InvalidArgumentError(absl::StrCat(what, ": weights must be float32"));
  if (spec.bits < 2 || spec.bits > 8)
    return absl::InvalidArgumentError(absl::StrCat(what, ": weight bits must be in [2, 8], got ", spec.bits));
  const float* data = w.data<float>();
  for (int64_t i = 0; i < w.num_elements(); ++i)
    if (!std::isfinite(data[i]))
      return absl::InvalidArgumentError(absl::StrCat(what, ": weight element ", i, " is ", data[i]));
  const int use_axis = spec.per_channel && w.rank() > 0 ? axis : -1;
  AxisWalker walk(w.shape(), use_axis);
  // Gather each channel's values (a transpose for axis != 0; weights are small).
  std::vector<std::vector<float>> channels(walk.channels);
  for (int64_t i = 0; i < w.num_elements(); ++i) channels[walk.channel(i)].push_back(data[i]);
  QuantizedWeights out;
  out.params = ChannelParams(channels[0], spec, constraint);
  out.params.axis = use_axis;
  for (int64_t c = 1; c < walk.channels; ++c) {
    QuantParams p = ChannelParams(channels[c], spec, constraint);
    out.params.scale.push_back(p.scale[0]);
    out.params.zero_point.push_back(p.zero_point[0]);
  }
  auto q = QuantizeTensor(w, out.params);
  if (!q.ok()) return q.status();
  out.q = *std::move(q);
  return out;
}

double NearestDyadic(double x, int bits, int64_t* m_out, int* k_out) {
  // x = f * 2^e with f in [0.5, 1): m = round(f * 2^bits), k = bits - e.
  int e = 0;
  const double f = std::frexp(x, &e);
  int64_t m = std::llround(std::ldexp(f, bits));
  int k = bits - e;
  if (m == (int64_t{1} << bits)) {  // rounding carried into a new bit
    m >>= 1;
    --k;
  }
  if (m_out) *m_out = m;
  if (k_out) *k_out = k;
  return std::ldexp(static_cast<double>(m), -k);
}

double Sqnr(std::span<const float> ref, std::span<const float> test) {
  double signal = 0, noise = 0;
  for (size_t i = 0; i < ref.size() && i < test.size(); ++i) {
    signal += static_cast<double>(ref[i]) * ref[i];
    const double d = static_cast<double>(ref[i]) - test[i];
    noise += d * d;
  }
  if (noise == 0) return std::numeric_limits<double>::infinity();
  if (signal == 0) return -std::numeric_limits<double>::infinity();
  return 10 * std::log10(signal / noise);
}

double EntropyBits(const Tensor& q) {
  int64_t count[256] = {};
  const int64_t n = q.num_elements();
  if (q.dtype() == DType::kS8) {
    for (int64_t i = 0; i < n; ++i) ++count[q.data<int8_t>()[i] + 128];
  } else if (q.dtype() == DType::kU8) {
    for (int64_t i = 0; i < n; ++i) ++count[q.data<uint8_t>()[i]];
  } else {
    return 0;
  }
  double h = 0;
  for (int64_t c : count)
    if (c > 0) {
      const double p = static_cast<double>(c) / n;
      h -= p * std::log2(p);
    }
  return h;
}

}  // namespace qbench::quant
