#include "engine/measure/latency.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_format.h"

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
  s.session_medians_ms = {s.median_ms};
  s.median_ci_method = samples.size() >= 50
                           ? "wider of the iid order-statistic 95% interval and the 2nd..9th of 10 run-order block "
                             "medians (97.9%), so drift within the run widens it"
                           : "iid order-statistic 95% interval (fewer than 50 samples: no block medians)";
  return s;
}

double SessionCoverage(int k, int r) {
  // 1 - 2 P(Bin(k, 1/2) <= r - 1)
  double below = 0, choose = 1;
  for (int i = 0; i < r; ++i) {
    below += choose;
    choose = choose * (k - i) / (i + 1);
  }
  return 1 - 2 * below / std::pow(2.0, k);
}

int SessionRank(int k) {
  int r = 1;
  while (2 * (r + 1) <= k && SessionCoverage(k, r + 1) >= 0.9) ++r;
  return r;
}

LatencyStats SummarizeSessions(const std::vector<std::vector<double>>& sessions) {
  std::vector<double> pooled, medians;
  for (const std::vector<double>& one : sessions) {
    if (one.empty()) continue;
    pooled.insert(pooled.end(), one.begin(), one.end());
    std::vector<double> sorted = one;
    std::sort(sorted.begin(), sorted.end());
    medians.push_back(NearestRankPercentile(sorted, 50));
  }
  LatencyStats s = Summarize(std::move(pooled));
  const int k = static_cast<int>(medians.size());
  if (k < 2) return s;
  s.sessions = k;
  s.session_medians_ms = medians;
  std::sort(medians.begin(), medians.end());
  const int r = SessionRank(k);
  s.median_ci_low_ms = std::min(s.median_ci_low_ms, medians[r - 1]);
  s.median_ci_high_ms = std::max(s.median_ci_high_ms, medians[k - r]);
  s.median_ci_method = absl::StrFormat(
      "widest of the iid order-statistic 95%% interval, the 2nd..9th of 10 run-order block medians (97.9%%) and "
      "the %s of %d session medians (%.1f%%), each session on a freshly built plan after its own warm-up",
      r == 1 ? std::string("min..max") : absl::StrFormat("%d..%d", r, k + 1 - r), k, 100 * SessionCoverage(k, r));
  return s;
}

}  // namespace qbench
