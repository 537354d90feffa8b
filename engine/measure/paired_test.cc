#include "engine/measure/paired.h"

#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "engine/measure/topk.h"

namespace qbench {
namespace {

// Fagerland, Lydersen & Laake, "Statistical Analysis of Contingency Tables" (2017), ch. 8:
// airway hyper-responsiveness before and after stem cell transplantation (Bentur et al.
// 2009), table [[1, 1], [7, 12]]: the Newcombe square-and-add interval of the paired
// difference is -0.2857 (95% CI -0.5069 to -0.0256). In our orientation (rows: base
// right/wrong, columns: other right/wrong) that table is a = 1, b = 7, c = 1, d = 12.
TEST(PairedTest, NewcombeIntervalMatchesThePublishedExample) {
  const PairedComparison r = ComparePairedCounts(1, 7, 1, 12);
  EXPECT_EQ(r.n, 21);
  EXPECT_NEAR(r.delta, -6.0 / 21, 1e-12);
  EXPECT_NEAR(r.ci_low, -0.5069, 5e-5);
  EXPECT_NEAR(r.ci_high, -0.0256, 5e-5);
  EXPECT_TRUE(r.significant());
  // Exact McNemar: b + c = 8 discordant, min 1: p = 2 (C(8,0) + C(8,1)) / 2^8 = 18/256.
  EXPECT_NEAR(r.p_value, 18.0 / 256, 1e-12);
}

TEST(PairedTest, NoDiscordantSamplesGiveASymmetricIntervalAroundZero) {
  const PairedComparison r = ComparePairedCounts(5, 0, 0, 5);
  EXPECT_EQ(r.delta, 0);
  EXPECT_NEAR(r.ci_low, -r.ci_high, 1e-12);
  EXPECT_GT(r.ci_high, 0.1);  // ten samples cannot pin the delta down
  EXPECT_FALSE(r.significant());
  EXPECT_EQ(r.p_value, 1);
}

TEST(PairedTest, FromPerSampleOutcomes) {
  //            base: 1 1 1 0 0 1 0 1
  //           other: 1 0 1 1 0 1 0 0
  const PairedComparison r = ComparePaired({1, 1, 1, 0, 0, 1, 0, 1}, {1, 0, 1, 1, 0, 1, 0, 0});
  EXPECT_EQ(r.both_right, 3);
  EXPECT_EQ(r.base_only, 2);
  EXPECT_EQ(r.other_only, 1);
  EXPECT_EQ(r.both_wrong, 2);
  EXPECT_NEAR(r.delta, -1.0 / 8, 1e-12);
  EXPECT_LE(r.ci_low, r.delta);
  EXPECT_GE(r.ci_high, r.delta);
}

// The exact McNemar p-value against a direct sum of binomial terms, and symmetric in b, c.
TEST(PairedTest, McNemarExactAgainstDirectSum) {
  for (int b = 0; b <= 30; ++b)
    for (int c = 0; c <= 30; ++c) {
      const int m = b + c, k = std::min(b, c);
      double tail = 0, choose = 1;  // C(m, i), built up exactly in double for m <= 60
      for (int i = 0; i <= k; ++i) {
        if (i > 0) choose = choose * (m - i + 1) / i;
        tail += choose;
      }
      const double want = std::min(1.0, 2 * tail / std::ldexp(1.0, m));
      ASSERT_NEAR(McNemarExactP(b, c), want, 1e-12 * std::max(1.0, want)) << b << " " << c;
      ASSERT_EQ(McNemarExactP(b, c), McNemarExactP(c, b));
    }
  // Large counts (an ImageNet-size evaluation): finite, in (0, 1], and tiny for a clear effect.
  EXPECT_GT(McNemarExactP(2400, 2600), 0.004);
  EXPECT_LT(McNemarExactP(2400, 2600), 0.006);
  EXPECT_LT(McNemarExactP(100, 400), 1e-40);
  EXPECT_GT(McNemarExactP(100, 400), 0);
}

TEST(PairedTest, WilsonIntervalEdges) {
  double lo, hi;
  WilsonInterval(0, 20, 1.96, &lo, &hi);
  EXPECT_EQ(lo, 0);
  EXPECT_NEAR(hi, 0.1611, 1e-4);  // 3.84 / 23.84
  WilsonInterval(20, 20, 1.96, &lo, &hi);
  EXPECT_EQ(hi, 1);
  EXPECT_NEAR(lo, 1 - 0.1611, 1e-4);
}

// Coverage: simulated paired classifiers with a known true delta; the 95% interval must
// cover it in about 95% of repetitions (Newcombe's interval is slightly conservative).
TEST(PairedTest, IntervalCoversTheTrueDeltaAboutNinetyFivePercent) {
  std::mt19937_64 rng(7);
  // Cell probabilities: both right, base only, other only, both wrong.
  const double p[4] = {0.85, 0.04, 0.03, 0.08};
  const double truth = p[2] - p[1];
  std::discrete_distribution<int> cell({p[0], p[1], p[2], p[3]});
  int covered = 0;
  const int reps = 2000, n = 500;
  for (int r = 0; r < reps; ++r) {
    int64_t k[4] = {0, 0, 0, 0};
    for (int i = 0; i < n; ++i) ++k[cell(rng)];
    const PairedComparison c = ComparePairedCounts(k[0], k[1], k[2], k[3]);
    covered += c.ci_low <= truth && truth <= c.ci_high;
  }
  const double coverage = static_cast<double>(covered) / reps;
  EXPECT_GT(coverage, 0.93);
  EXPECT_LT(coverage, 0.985);
}

TEST(TopKTest, TiesGoToTheLowestIndex) {
  const float s[] = {0.1f, 0.7f, 0.7f, 0.1f};
  EXPECT_EQ(TopClass(s, 4), 1);
  EXPECT_TRUE(TopIsTied(s, 4));
  EXPECT_EQ(LabelRank(s, 4, 1), 0);  // the lowest tied class is the top-1
  EXPECT_EQ(LabelRank(s, 4, 2), 1);  // a tie is no longer a hit for every tied class
  EXPECT_EQ(LabelRank(s, 4, 0), 2);
  EXPECT_EQ(LabelRank(s, 4, 3), 3);
  const float u[] = {0.2f, 0.5f, 0.3f};
  EXPECT_FALSE(TopIsTied(u, 3));
  EXPECT_EQ(LabelRank(u, 3, 2), 1);
}

TEST(TopKTest, AllEqualScoresRankByIndex) {
  const float s[8] = {};
  for (int64_t c = 0; c < 8; ++c) EXPECT_EQ(LabelRank(s, 8, c), c);
  EXPECT_EQ(TopClass(s, 8), 0);
  EXPECT_TRUE(TopIsTied(s, 8));
}

TEST(TopKTest, NanRanksFirstAsInNumpyArgmax) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float s[] = {0.5f, nan, 0.9f, nan};
  EXPECT_EQ(TopClass(s, 4), 1);
  EXPECT_EQ(LabelRank(s, 4, 1), 0);
  EXPECT_EQ(LabelRank(s, 4, 3), 1);
  EXPECT_EQ(LabelRank(s, 4, 2), 2);
  EXPECT_TRUE(TopIsTied(s, 4));
}

}  // namespace
}  // namespace qbench
