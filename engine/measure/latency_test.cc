#include "engine/measure/latency.h"

#include <gtest/gtest.h>

namespace qbench {
namespace {

// 1..100 ms: nearest rank p50 = 50, p90 = 90, p99 = 99, p99.9 = 100 (rank ceil(99.9) = 100).
// Median CI: n = 100, half-width 1.96 * 10 / 2 = 9.8 -> ranks floor(40.2) = 40 and
// ceil(50 + 9.8 + 1) = 61 -> iid [40, 61]. In run order 100..1 the 10 blocks have medians
// 95, 85, ..., 5 (nearest rank: the 5th of each sorted block): 2nd and 9th smallest are 15
// and 85, which widen the reported interval to [15, 85].
TEST(LatencyTest, PercentilesAndMedianInterval) {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);  // order does not matter
  const LatencyStats s = Summarize(v);
  EXPECT_EQ(s.count, 100);
  EXPECT_EQ(s.median_ms, 50);
  EXPECT_EQ(s.p90_ms, 90);
  EXPECT_EQ(s.p99_ms, 99);
  EXPECT_EQ(s.p999_ms, 100);
  EXPECT_EQ(s.median_ci_iid_low_ms, 40);
  EXPECT_EQ(s.median_ci_iid_high_ms, 61);
  EXPECT_EQ(s.median_ci_low_ms, 15);
  EXPECT_EQ(s.median_ci_high_ms, 85);
  EXPECT_DOUBLE_EQ(s.mean_ms, 50.5);
  EXPECT_EQ(s.kept_ms.size(), 100u);
  EXPECT_EQ(s.kept_ms.front(), 100);  // run order, not sorted
}

// A run that drifts (a slower second half, as when a neighbour starts): the iid interval
// sits inside one level, the batch-median interval covers both.
TEST(LatencyTest, DriftWidensTheMedianInterval) {
  std::vector<double> v;
  for (int i = 0; i < 1000; ++i) v.push_back(i < 400 ? 10.0 + 0.001 * (i % 7) : 11.0 + 0.001 * (i % 7));
  const LatencyStats s = Summarize(v);
  EXPECT_GE(s.median_ci_iid_low_ms, 11.0);
  EXPECT_LE(s.median_ci_low_ms, 10.01);
  EXPECT_GE(s.median_ci_high_ms, 11.0);
  // Without drift both intervals are narrow and agree.
  std::vector<double> flat(1000, 5.0);
  const LatencyStats f = Summarize(flat);
  EXPECT_EQ(f.median_ci_low_ms, 5.0);
  EXPECT_EQ(f.median_ci_high_ms, 5.0);
}

TEST(LatencyTest, FewSamplesAndDownsampling) {
  const LatencyStats few = Summarize({3, 1, 2});
  EXPECT_EQ(few.median_ci_low_ms, 1);
  EXPECT_EQ(few.median_ci_high_ms, 3);
  std::vector<double> many(2500, 1.0);
  const LatencyStats s = Summarize(many);
  EXPECT_LE(s.kept_ms.size(), LatencyStats::kMaxKept);
  EXPECT_GE(s.kept_ms.size(), 800u);
  EXPECT_EQ(Summarize({}).count, 0);
}

// Coverage of [m_(r), m_(k+1-r)]: 1 - 2 P(Bin(k, 1/2) <= r - 1).
TEST(LatencyTest, SessionRankAndCoverage) {
  EXPECT_DOUBLE_EQ(SessionCoverage(5, 1), 1 - 2.0 / 32);            // 93.75%
  EXPECT_DOUBLE_EQ(SessionCoverage(8, 2), 1 - 2.0 * (1 + 8) / 256);  // 92.97%
  EXPECT_DOUBLE_EQ(SessionCoverage(2, 1), 0.5);
  EXPECT_EQ(SessionRank(2), 1);
  EXPECT_EQ(SessionRank(5), 1);
  EXPECT_EQ(SessionRank(7), 1);  // r = 2 would cover 87.5% only
  EXPECT_EQ(SessionRank(8), 2);
  EXPECT_EQ(SessionRank(12), 3);  // r = 3: 96.1%; r = 4: 85.4%
}

// Five sessions whose levels differ (as separate processes do) but are steady within:
// each session's own intervals are a point, the session medians' min..max covers all.
TEST(LatencyTest, SessionsWidenTheMedianInterval) {
  std::vector<std::vector<double>> sessions;
  for (double level : {10.0, 10.4, 9.8, 10.1, 10.2}) sessions.push_back(std::vector<double>(200, level));
  const LatencyStats s = SummarizeSessions(sessions);
  EXPECT_EQ(s.count, 1000);
  EXPECT_EQ(s.sessions, 5);
  EXPECT_EQ(s.session_medians_ms, (std::vector<double>{10.0, 10.4, 9.8, 10.1, 10.2}));
  EXPECT_EQ(s.median_ms, 10.1);
  EXPECT_EQ(s.median_ci_low_ms, 9.8);
  EXPECT_EQ(s.median_ci_high_ms, 10.4);
  EXPECT_NE(s.median_ci_method.find("min..max of 5 session medians (93.8%)"), std::string::npos)
      << s.median_ci_method;
  // One session is Summarize itself; empty sessions are skipped.
  const LatencyStats one = SummarizeSessions({{}, std::vector<double>(100, 3.0), {}});
  EXPECT_EQ(one.sessions, 1);
  EXPECT_EQ(one.median_ci_low_ms, 3.0);
  EXPECT_EQ(one.median_ci_high_ms, 3.0);
  EXPECT_EQ(one.median_ci_method.find("session"), std::string::npos);
}

}  // namespace
}  // namespace qbench
