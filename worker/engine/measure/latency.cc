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

namespace {

// 2nd and 9th smallest of the medians of 10 consecutive blocks of the run (see latency.h).
std::pair<double, double> BatchMedianInterval(const std::vector<double>& run_order) {
  constexpr size_t kBlocks = 10;
  std::vector<double> medians;
  const size_t n = run_order.size();
  for (size_t b = 0; b < kBlocks; ++b) {
    std::vector<double> block(run_order.begin() + b * n / kBlocks, run_order.begin() + (b + 1) * n / kBlocks);
    std::sort(block.begin(), block.end());
    medians.push_back(NearestRankPercentile(block, 50));
  }
  std::sort(medians.begin(), medians.end());
  return {medians[1], medians[kBlocks - 2]};
}

}  // namespace

LatencyStats Summarize(std::vector<double> samples) {
  LatencyStats s;
  if (samples.empty()) return s;
  const std::pair<double, double> blocks =
      samples.size() >= 50 ? BatchMedianInterval(samples) : std::pair<double, double>{INFINITY, -INFINITY};
  const size_t step = (samples.size() + LatencyStats::kMaxKept - 1) / LatencyStats::kMaxKept;
  for (size_t i = 0; i < samples.size(); i += step) s.kept_ms.push_back(samples[i]);
  std::sort(samples.begin(), samples.end());
  s.count = static_cast<int64_t>(samples.size());
  s.min_ms = samples.front();
  s.max_ms = samples.back();
  s.median_ms = NearestRankPercentile(samples, 50);
  s.p90_ms = NearestRankPercentile(samples, 90);
  s.p99_ms = NearestRankPercentile(samples, 99);
  s.p999_ms = NearestRankPercentile(samples, 99.9);
  const double n = static_cast<double>(samples.size());
  if (samples.size() < 6) {
    s.median_ci_low_ms = s.min_ms;
    s.median_ci_high_ms = s.max_ms;
  } else {
    const double half = 1.96 * std::sqrt(n) / 2;
    const auto at = [&](double rank) {  // 1-based rank, clamped
      return samples[static_cast<size_t>(std::clamp(rank, 1.0, n)) - 1];
    };
    s.median_ci_low_ms = at(std::floor(n / 2 - half));
    s.median_ci_high_ms = at(std::ceil(n / 2 + half + 1));
  }
  s.median_ci_iid_low_ms = s.median_ci_low_ms;
  s.median_ci_iid_high_ms = s.median_ci_high_ms;
  s.median_ci_low_ms = std::min(s.median_ci_low_ms, blocks.first);
  s.median_ci_high_ms = std::max(s.median_ci_high_ms, blocks.second);
  s.mean_ms = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
  return s;
}

}  // namespace qbench
