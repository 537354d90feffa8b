// Latency statistics. Percentiles use the nearest-rank method (as MLPerf LoadGen does):
// the p-th percentile of n sorted samples is sample ceil(p/100 * n) (1-based).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace qbench {

struct LatencyStats {
  int64_t count = 0;
  double min_ms = 0, median_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0, mean_ms = 0;
  // Confidence interval of the median, the wider of two distribution-free intervals:
  //  - iid: the order statistics of ranks n/2 -+ 1.96 sqrt(n)/2 (normal approximation to
  //    the binomial), clamped to [min, max]; with fewer than 6 samples [min, max]. Valid
  //    when samples are independent, which timed queries are not: frequency changes,
  //    caches and neighbours make them drift, and thousands of samples then give an
  //    interval far narrower than the run-to-run difference.
  //  - batch medians (the method of batch means): the run, in order, cut into 10
  //    consecutive blocks; the 2nd and 9th smallest block medians bound the median with
  //    97.9% coverage when blocks are independent (1 - 2 P(Bin(10, 1/2) <= 1)), so drift
  //    within the run widens it. Needs 50 samples or more.
  // With several sessions (SummarizeSessions) a third interval joins them:
  //  - sessions: the run is split into k sessions, each on a freshly built plan (its own
  //    weight, buffer and primitive allocations) after its own warm-up. Order statistics
  //    r and k+1-r of the k session medians bound the median of a session's median with
  //    coverage 1 - 2 P(Bin(k, 1/2) <= r-1) (k = 5, r = 1: 93.75%). It carries what
  //    differs between processes (allocation addresses, cache colouring, frequency
  //    state at the start), which a single session's samples cannot show.
  double median_ci_low_ms = 0, median_ci_high_ms = 0;
  double median_ci_iid_low_ms = 0, median_ci_iid_high_ms = 0;  // the iid interval alone
  // Sessions behind the figures, each one's median (run order), and how the reported
  // interval was made (which of the intervals above, with their coverage).
  int sessions = 1;
  std::vector<double> session_medians_ms;
  std::string median_ci_method;
  // The samples in run order, at most kMaxKept (evenly downsampled beyond), for plots.
  std::vector<double> kept_ms;
  static constexpr size_t kMaxKept = 1000;
};

double NearestRankPercentile(std::vector<double> sorted_ms, double p);  // sorted ascending
LatencyStats Summarize(std::vector<double> samples_ms);
// Pools the sessions' samples (in run order) for the percentiles and widens the median's
// interval by the session-median interval. Empty sessions are ignored.
LatencyStats SummarizeSessions(const std::vector<std::vector<double>>& sessions_ms);
// Coverage of [m_(r), m_(k+1-r)] over k session medians, and the r used (largest r with
// coverage >= 90%, at least 1).
int SessionRank(int k);
double SessionCoverage(int k, int r);

}  // namespace qbench
