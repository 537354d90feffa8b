// MSE-optimal calibration: the clipping range, searched as a fraction k/100 of the
// observed [min, max] (k = 5..100), that minimizes the expected squared error
//   E = sum_bins count_b * (dequant(quant(center_b)) - center_b)^2,
// which weighs rounding error inside the range against clipping error outside it.
#include "engine/quant/range_method.h"

namespace qbench::quant {

double HistogramMse(const Histogram& h, const QuantParams& p) {
  const auto& counts = h.counts();
  double err = 0;
  for (int i = 0; i < Histogram::kBins; ++i) {
    if (counts[i] == 0) continue;
    const float c = static_cast<float>(h.bin_center(i));
    const float d = DequantizeValue(QuantizeValue(c, p.scale[0], p.zero_point[0], p.qmin, p.qmax), p.scale[0],
                                    p.zero_point[0]) - c;
    err += counts[i] * static_cast<double>(d) * d;
  }
  return err;
}

RangeChoice MseRange(const Histogram& h, const RangeOptions& options) {
  RangeChoice best{h.min(), h.max()};
  double best_err = HistogramMse(h, ChooseParams(best.lo, best.hi, options.grid, options.symmetric));
  for (int k = 99; k >= 5; --k) {
    const float r = k / 100.f;
    const RangeChoice c{h.min() * r, h.max() * r};
    const double err = HistogramMse(h, ChooseParams(c.lo, c.hi, options.grid, options.symmetric));
    if (err < best_err) {
      best_err = err;
      best = c;
    }
  }
  return best;
}

}  // namespace qbench::quant
