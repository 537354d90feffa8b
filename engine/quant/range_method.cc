#include "engine/quant/range_method.h"

#include <algorithm>

namespace qbench::quant {
namespace {

constexpr RangeMethodDef kMethods[] = {
    {CalibMethod::kMinMax, "minmax", MinMaxRange},
    {CalibMethod::kPercentile, "percentile", PercentileRange},
    {CalibMethod::kEntropy, "entropy", EntropyRange},
    {CalibMethod::kMse, "mse", MseRange},
};

}  // namespace

const RangeMethodDef* FindRangeMethod(std::string_view name) {
  for (const RangeMethodDef& d : kMethods)
    if (d.name == name) return &d;
  return nullptr;
}

const RangeMethodDef& RangeMethodOf(CalibMethod method) {
  for (const RangeMethodDef& d : kMethods)
    if (d.method == method) return d;
  return kMethods[0];
}

std::string_view MethodName(CalibMethod method) { return RangeMethodOf(method).name; }

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
