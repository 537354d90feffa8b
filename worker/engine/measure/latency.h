// Latency statistics. Percentiles use the nearest-rank method (as MLPerf LoadGen does):
// the p-th percentile of n sorted samples is sample ceil(p/100 * n) (1-based).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace qbench {

struct LatencyStats {
  int64_t count = 0;
  double min_ms = 0, median_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0, mean_ms = 0;
  // Distribution-free 95% confidence interval of the median: the order statistics of
  // ranks n/2 -+ 1.96 sqrt(n)/2 (the normal approximation to the binomial), clamped to
  // [min, max]; with fewer than 6 samples it is [min, max].
  double median_ci_low_ms = 0, median_ci_high_ms = 0;
  // The samples in run order, at most kMaxKept (evenly downsampled beyond), for plots.
  std::vector<double> kept_ms;
  static constexpr size_t kMaxKept = 1000;
};

double NearestRankPercentile(std::vector<double> sorted_ms, double p);  // sorted ascending
LatencyStats Summarize(std::vector<double> samples_ms);

}  // namespace qbench
