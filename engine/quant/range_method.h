// Activation range methods: each turns a calibration histogram into the real range
// [lo, hi] that the activation's quantization parameters then cover. One method per
// file (minmax and percentile here in range_method.cc, entropy.cc, mse.cc), listed in
// one table.
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/quant/histogram.h"
#include "engine/quant/qparams.h"

namespace qbench::quant {

struct RangeOptions {
  QuantGrid grid;
  bool symmetric = false;
  double percentile = 99.99;  // for kPercentile, in (50, 100]
};

using RangeFn = RangeChoice (*)(const Histogram& h, const RangeOptions& options);

struct RangeMethodDef {
  CalibMethod method;
  RangeFn fn;
};

const RangeMethodDef* FindRangeMethod(std::string_view name);
const RangeMethodDef& RangeMethodOf(CalibMethod method);

RangeChoice MinMaxRange(const Histogram& h, const RangeOptions& options);
RangeChoice PercentileRange(const Histogram& h, const RangeOptions& options);
// TensorRT's entropy calibration: the clipping threshold minimizing KL(P || Q) between
// the clipped reference distribution P and its quantized version Q.
RangeChoice EntropyRange(const Histogram& h, const RangeOptions& options);
// KL(P || Q) for the threshold of `i` bins of the |x| histogram `bins` and a quantizer
// of `levels` levels (entropy.cc gives the definition). Exposed for tests.
double KlDivergenceForThreshold(const std::vector<double>& bins, int i, int levels);
// The clipping range (searched as a fraction of [min, max]) minimizing the expected
// squared quantization error over the histogram.
RangeChoice MseRange(const Histogram& h, const RangeOptions& options);

// The expected squared error of quantizing the histogram's values with params (bin
// centers stand for their bins). Shared by MseRange and tests.
double HistogramMse(const Histogram& h, const QuantParams& params);

}  // namespace qbench::quant
