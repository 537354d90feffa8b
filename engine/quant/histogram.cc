#include "engine/quant/histogram.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace qbench::quant {

void Histogram::Grow(float amax) {
  if (range_ == 0.f) {
    // First non-zero magnitude. Zeros seen so far sit in the bin just above 0.
    const double zeros = std::accumulate(counts_.begin(), counts_.end(), 0.0);
    std::fill(counts_.begin(), counts_.end(), 0.0);
    range_ = amax;
    counts_[kBins / 2] = zeros;
    return;
  }
  while (range_ < amax) {
    // Doubling R: new bin j = old bins 2j - B/2 and 2j + 1 - B/2 (for j in [B/4, 3B/4)).
    std::vector<double> next(kBins, 0.0);
    for (int i = 0; i < kBins; ++i) next[(i + kBins / 2) / 2] += counts_[i];
    counts_.swap(next);
    range_ *= 2.f;
  }
}

absl::Status Histogram::Add(std::span<const float> values) {
  float lo = count_ ? min_ : INFINITY, hi = count_ ? max_ : -INFINITY;
  for (size_t i = 0; i < values.size(); ++i) {
    const float x = values[i];
    if (!std::isfinite(x)) return absl::InvalidArgumentError(absl::StrCat("element ", i, " is ", x));
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  if (values.empty()) return absl::OkStatus();
  min_ = lo;
  max_ = hi;
  const float amax = std::max(-lo, hi);
  if (amax > range_) Grow(amax);
  count_ += static_cast<int64_t>(values.size());
  if (range_ == 0.f) {  // all zeros so far
    counts_[kBins / 2] += static_cast<double>(values.size());
    return absl::OkStatus();
  }
  const double inv_w = kBins / (2.0 * range_);
  for (float x : values) {
    const int b = static_cast<int>((static_cast<double>(x) + range_) * inv_w);
    counts_[std::clamp(b, 0, kBins - 1)] += 1.0;
  }
  return absl::OkStatus();
}

double Histogram::Quantile(double fraction) const {
  if (count_ == 0) return 0;
  const double target = std::clamp(fraction, 0.0, 1.0) * static_cast<double>(count_);
  double seen = 0;
  for (int i = 0; i < kBins; ++i) {
    if (counts_[i] > 0 && seen + counts_[i] >= target) {
      const double t = (target - seen) / counts_[i];
      const double v = -range_ + (i + t) * bin_width();
      return std::clamp(v, static_cast<double>(min_), static_cast<double>(max_));
    }
    seen += counts_[i];
  }
  return max_;
}

std::vector<double> Histogram::AbsCounts() const {
  std::vector<double> a(kBins / 2, 0.0);
  for (int i = 0; i < kBins / 2; ++i) a[i] = counts_[kBins / 2 + i] + counts_[kBins / 2 - 1 - i];
  return a;
}

}  // namespace qbench::quant
