#include "worker/engine/measure/latency.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace qbench {

double NearestRankPercentile(std::vector<double> sorted, double p) {
  if (sorted.empty()) return 0;
  const double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()));
  const size_t index = static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(sorted.size()))) - 1;
  return sorted[index];
}

LatencyStats Summarize(std::vector<double> samples) {
  LatencyStats s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.count = static_cast<int64_t>(samples.size());
  s.min_ms = samples.front();
  s.max_ms = samples.back();
  s.median_ms = NearestRankPercentile(samples, 50);
  s.p90_ms = NearestRankPercentile(samples, 90);
  s.p99_ms = NearestRankPercentile(samples, 99);
  s.mean_ms = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
  return s;
}

}  // namespace qbench
