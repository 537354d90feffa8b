// Latency statistics. Percentiles use the nearest-rank method (as MLPerf LoadGen does):
// the p-th percentile of n sorted samples is sample ceil(p/100 * n) (1-based).
#pragma once

#include <cstdint>
#include <vector>

namespace qbench {

struct LatencyStats {
  int64_t count = 0;
  double min_ms = 0, median_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
};

double NearestRankPercentile(std::vector<double> sorted_ms, double p);  // sorted ascending
LatencyStats Summarize(std::vector<double> samples_ms);

}  // namespace qbench
