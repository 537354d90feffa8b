// A streaming histogram of one activation tensor's values over calibration batches.
//
// Memory is fixed (kBins counts plus min/max) whatever the number of samples: values are
// binned as they stream past and never stored. The bins cover [-R, R]; when a batch
// holds a value beyond R, R doubles (repeatedly) and pairs of bins merge, which is exact
// because the new bin edges are a subset of the old ones. Percentile, entropy and MSE
// ranges are all computed from this one histogram.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"

namespace qbench::quant {

class Histogram {
 public:
  static constexpr int kBins = 4096;  // even; 2048 per sign

  // Adds values; NaN or Inf is an error (the caller names the tensor).
  absl::Status Add(std::span<const float> values);

  int64_t count() const { return count_; }
  float min() const { return min_; }
  float max() const { return max_; }
  float range() const { return range_; }  // bins cover [-range, range]
  double bin_width() const { return 2.0 * range_ / kBins; }
  double bin_center(int i) const { return -range_ + (i + 0.5) * bin_width(); }
  const std::vector<double>& counts() const { return counts_; }

  // The value below which `fraction` of the samples lie (linear inside a bin), clamped
  // to [min, max].
  double Quantile(double fraction) const;

  // |x| histogram: bin i covers [i, i+1) * bin_width() (kBins / 2 bins).
  std::vector<double> AbsCounts() const;

 private:
  void Grow(float amax);

  std::vector<double> counts_ = std::vector<double>(kBins, 0.0);
  float range_ = 0.f;
  float min_ = 0.f, max_ = 0.f;
  int64_t count_ = 0;
};

}  // namespace qbench::quant
