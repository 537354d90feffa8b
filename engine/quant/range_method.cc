#include "engine/quant/range_method.h"

#include <algorithm>

namespace qbench::quant {
namespace {

constexpr RangeMethodDef kMethods[] = {
    {CalibMethod::kMinMax, MinMaxRange},
    {CalibMethod::kPercentile, PercentileRange},
    {CalibMethod::kEntropy, EntropyRange},
    {CalibMethod::kMse, MseRange},
};

}  // namespace

const RangeMethodDef* FindRangeMethod(std::string_view name) {
  const std::optional<CalibMethod> m = FindCalibMethod(name);  // the spec's names (spec/quant_types.h)
  return m ? &RangeMethodOf(*m) : nullptr;
}

const RangeMethodDef& RangeMethodOf(CalibMethod method) {
  for (const RangeMethodDef& d : kMethods)
    if (d.method == method) return d;
  return kMethods[0];
}


RangeChoice MinMaxRange(const Histogram& h, const RangeOptions&) { return {h.min(), h.max()}; }

// The central `percentile` of the mass: both tails of (100 - p)% are clipped. On
// non-negative data (ReLU outputs) the lower quantile is the minimum itself.
RangeChoice PercentileRange(const Histogram& h, const RangeOptions& options) {
  const double p = options.percentile / 100.0;
  RangeChoice r{static_cast<float>(h.Quantile(1.0 - p)), static_cast<float>(h.Quantile(p))};
  if (h.min() >= 0.f) r.lo = h.min();
  if (options.symmetric) {
    const float a = std::max(-r.lo, r.hi);
    r = {h.min() >= 0.f ? 0.f : -a, a};
  }
  return r;
}

}  // namespace qbench::quant
