// The streaming histogram, the activation range methods (minmax, percentile, entropy,
// MSE) and the calibration sampler, against hand-computed cases.
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "engine/quant/histogram.h"
#include "engine/quant/range_method.h"
#include "engine/quant/sampler.h"

namespace qbench::quant {
namespace {

constexpr int kB = Histogram::kBins;

double Total(const Histogram& h) { return std::accumulate(h.counts().begin(), h.counts().end(), 0.0); }

// The bin a value falls in for a histogram of range R, computed from the definition:
// floor((x + R) / (2R / B)).
int BinOf(double x, double range) { return static_cast<int>(std::floor((x + range) * kB / (2 * range))); }

// n evenly spaced values (k + 0.5) / n * (hi - lo) + lo: a uniform distribution.
std::vector<float> Uniform(int n, float lo, float hi) {
  std::vector<float> v(n);
  for (int k = 0; k < n; ++k) v[k] = lo + (hi - lo) * (k + 0.5f) / n;
  return v;
}

Histogram Of(const std::vector<float>& v) {
  Histogram h;
  EXPECT_TRUE(h.Add(v).ok());
  return h;
}

TEST(HistogramTest, MinMaxCountAndBinsAreExact) {
  Histogram h;
  ASSERT_TRUE(h.Add(std::vector<float>{-1.f, 0.5f, 3.f}).ok());
  EXPECT_EQ(h.count(), 3);
  EXPECT_EQ(h.min(), -1.f);
  EXPECT_EQ(h.max(), 3.f);
  EXPECT_EQ(h.range(), 3.f);  // the first batch's largest magnitude
  // R = 3: 0.5 -> floor(3.5 * 4096 / 6) = 2389; -1 -> floor(2 * 4096 / 6) = 1365;
  // 3 (the top edge) is clamped into the last bin 4095.
  EXPECT_EQ(h.counts()[2389], 1);
  EXPECT_EQ(h.counts()[1365], 1);
  EXPECT_EQ(h.counts()[4095], 1);
  EXPECT_EQ(Total(h), 3);
}

TEST(HistogramTest, RangeDoublingKeepsCountsExact) {
  Histogram h;
  ASSERT_TRUE(h.Add(std::vector<float>{-1.f, 0.5f, 3.f}).ok());
  // -7 needs R >= 7: R doubles 3 -> 6 -> 12 and pairs of bins merge.
  ASSERT_TRUE(h.Add(std::vector<float>{-7.f}).ok());
  EXPECT_EQ(h.range(), 12.f);
  EXPECT_EQ(h.count(), 4);
  EXPECT_EQ(h.min(), -7.f);
  EXPECT_EQ(h.max(), 3.f);
  EXPECT_EQ(Total(h), 4);
  // Values binned before the growth sit where binning at R = 12 would have put them:
  //   0.5: 2389 -> (2389 + 2048) / 2 = 2218 -> 2133 = floor(12.5 * 4096 / 24)
  //   -1:  1365 -> 1706 -> 1877 = floor(11 * 4096 / 24)
  EXPECT_EQ(BinOf(0.5, 12), 2133);
  EXPECT_EQ(h.counts()[2133], 1);
  EXPECT_EQ(h.counts()[BinOf(-1, 12)], 1);
  EXPECT_EQ(h.counts()[BinOf(-7, 12)], 1);  // floor(5 * 4096 / 24) = 853
  // A new 0.5 lands in the same bin as the old one.
  ASSERT_TRUE(h.Add(std::vector<float>{0.5f}).ok());
  EXPECT_EQ(h.counts()[2133], 2);
}

TEST(HistogramTest, RandomGrowthMatchesDirectBinning) {
  // Values streamed with growing magnitude end in the same bins as binning them all at
  // the final range would give (away from bin edges, which float rounding may move).
  std::mt19937 rng(5);
  std::vector<float> all;
  Histogram h;
  for (int batch = 0; batch < 12; ++batch) {
    std::uniform_real_distribution<float> u(-std::exp2(batch) * 0.3f, std::exp2(batch) * 0.2f);
    std::vector<float> v(500);
    for (float& x : v) x = u(rng);
    ASSERT_TRUE(h.Add(v).ok());
    all.insert(all.end(), v.begin(), v.end());
  }
  std::vector<double> direct(kB, 0.0);
  for (float x : all) direct[std::clamp(BinOf(x, h.range()), 0, kB - 1)] += 1;
  int differ = 0;
  for (int i = 0; i < kB; ++i) differ += direct[i] != h.counts()[i];
  EXPECT_LE(differ, 4);
  EXPECT_EQ(Total(h), static_cast<double>(all.size()));
}

TEST(HistogramTest, ZerosBeforeTheFirstNonZeroValue) {
  Histogram h;
  ASSERT_TRUE(h.Add(std::vector<float>{0.f, 0.f}).ok());
  EXPECT_EQ(h.range(), 0.f);
  EXPECT_EQ(h.counts()[kB / 2], 2);
  ASSERT_TRUE(h.Add(std::vector<float>{1.f, 0.f}).ok());
  // R = 1: zeros sit in bin floor(1 * 4096 / 2) = 2048, the first bin of [0, R).
  EXPECT_EQ(h.range(), 1.f);
  EXPECT_EQ(h.counts()[kB / 2], 3);
  EXPECT_EQ(h.counts()[kB - 1], 1);
  EXPECT_EQ(h.count(), 4);
}

TEST(HistogramTest, NonFiniteIsAnErrorAndChangesNothing) {
  Histogram h;
  ASSERT_TRUE(h.Add(std::vector<float>{1.f, 2.f}).ok());
  absl::Status s = h.Add(std::vector<float>{5.f, std::nanf("")});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("element 1"), std::string::npos) << s;
  EXPECT_FALSE(h.Add(std::vector<float>{-INFINITY}).ok());
  EXPECT_EQ(h.count(), 2);
  EXPECT_EQ(h.max(), 2.f);
  EXPECT_EQ(h.range(), 2.f);
  EXPECT_EQ(Total(h), 2);
}

TEST(HistogramTest, QuantilesOfUniformData) {
  Histogram h = Of(Uniform(10000, 0.f, 1.f));
  const double w = h.bin_width();  // 2 / 4096, about 0.0005
  EXPECT_NEAR(h.Quantile(0.5), 0.5, 2 * w);
  EXPECT_NEAR(h.Quantile(0.25), 0.25, 2 * w);
  EXPECT_NEAR(h.Quantile(0.9), 0.9, 2 * w);
  EXPECT_EQ(h.Quantile(0.0), h.min());
  EXPECT_EQ(h.Quantile(1.0), h.max());
}

TEST(HistogramTest, MemoryIsFixed) {
  Histogram h;
  const size_t bins = h.counts().size();
  std::mt19937 rng(11);
  std::vector<float> v(10000);
  for (int batch = 0; batch < 100; ++batch) {
    std::normal_distribution<float> normal(0.f, 1.f + batch);
    for (float& x : v) x = normal(rng);
    ASSERT_TRUE(h.Add(v).ok());
    ASSERT_EQ(h.counts().size(), bins);
  }
  EXPECT_EQ(bins, static_cast<size_t>(kB));
  EXPECT_EQ(h.count(), 1000000);
  EXPECT_EQ(Total(h), 1e6);
}

TEST(RangeMethodTest, Table) {
  ASSERT_NE(FindRangeMethod("entropy"), nullptr);
  EXPECT_EQ(FindRangeMethod("entropy")->method, CalibMethod::kEntropy);
  EXPECT_EQ(FindRangeMethod("kl"), nullptr);
  EXPECT_EQ(MethodName(CalibMethod::kMse), "mse");
  EXPECT_EQ(MethodName(CalibMethod::kPercentile), "percentile");
  EXPECT_EQ(RangeMethodOf(CalibMethod::kMinMax).fn, &MinMaxRange);
}

TEST(RangeMethodTest, MinMax) {
  Histogram h = Of({-0.3f, 2.7f, 1.f});
  RangeChoice r = MinMaxRange(h, RangeOptions{});
  EXPECT_EQ(r.lo, -0.3f);
  EXPECT_EQ(r.hi, 2.7f);
}

TEST(RangeMethodTest, PercentileOfUniformData) {
  RangeOptions o;
  o.percentile = 99;
  // Uniform on [-1, 1): 1% of the mass below -0.98 and above 0.98.
  Histogram h = Of(Uniform(20000, -1.f, 1.f));
  RangeChoice r = PercentileRange(h, o);
  EXPECT_NEAR(r.lo, -0.98, 2 * h.bin_width());
  EXPECT_NEAR(r.hi, 0.98, 2 * h.bin_width());
  // Uniform on [0, 1): the lower end is the minimum itself, the upper the 99% quantile.
  Histogram pos = Of(Uniform(10000, 0.f, 1.f));
  r = PercentileRange(pos, o);
  EXPECT_EQ(r.lo, pos.min());
  EXPECT_NEAR(r.hi, 0.99, 2 * pos.bin_width());
  // Symmetric: [-a, a] with a the larger side; non-negative data keeps lo = 0.
  o.symmetric = true;
  Histogram skew = Of(Uniform(20000, -0.5f, 1.5f));  // quantiles -0.48, 1.48
  r = PercentileRange(skew, o);
  EXPECT_NEAR(r.hi, 1.48, 2 * skew.bin_width());
  EXPECT_EQ(r.lo, -r.hi);
  r = PercentileRange(pos, o);
  EXPECT_EQ(r.lo, 0.f);
}

// Uniform [0, 1) (10000 values) and one far outlier at 10: ReLU-like data.
Histogram WithOutlier() {
  std::vector<float> v = Uniform(10000, 0.f, 1.f);
  v.push_back(10.f);
  return Of(v);
}

TEST(RangeMethodTest, MseClipsAFarOutlier) {
  // On the 4-bit grid [0, 15]: min/max [0, 10] rounds the bulk with steps of 0.67
  // (error ~ 10000 * 0.67^2 / 12 = 370); clipping at hi costs (10 - hi)^2 for the
  // outlier plus 10000 (hi / 15)^2 / 12 for the bulk, smallest near hi = 2.1 (~79).
  Histogram h = WithOutlier();
  RangeOptions o;
  o.grid = QuantGrid{4, false};
  RangeChoice r = MseRange(h, o);
  EXPECT_GE(r.hi, 1.f);
  EXPECT_LE(r.hi, 5.f);
  EXPECT_GE(r.lo, 0.f);
  const double e_mse = HistogramMse(h, ChooseParams(r.lo, r.hi, o.grid, false));
  const double e_minmax = HistogramMse(h, ChooseParams(h.min(), h.max(), o.grid, false));
  EXPECT_LT(e_mse, 0.5 * e_minmax);
  EXPECT_NEAR(e_minmax, 370, 60);
  // Without the outlier nothing is worth clipping at 8 bits: the range stays full.
  Histogram u = Of(Uniform(10000, 0.f, 1.f));
  o.grid = QuantGrid{8, false};
  EXPECT_GE(MseRange(u, o).hi, 0.95f);
}

TEST(EntropyTest, WorkedKlDivergence) {
  // |x| histogram of 4 bins {4, 2, 1, 1}, a 2-level quantizer.
  const std::vector<double> bins = {4, 2, 1, 1};
  // i = 2: P = {4, 2 + 1 + 1} = {4, 4} -> {1/2, 1/2}. Q: groups of 2/2 = 1 bin: {4}, {2}
  //   -> {4/6, 2/6}. KL = 1/2 ln(3/4) + 1/2 ln(3/2) = 1/2 ln(9/8) = 0.058892.
  EXPECT_NEAR(KlDivergenceForThreshold(bins, 2, 2), 0.5 * std::log(9.0 / 8), 1e-12);
  // i = 3: P = {4, 2, 2} -> {1/2, 1/4, 1/4}. Q: group {4} and the remainder {2, 1}
  //   (total 3 over 2 non-empty bins) -> {4, 1.5, 1.5} / 7.
  //   KL = 1/2 ln(7/8) + 2 * 1/4 ln(7/6) = 1/2 ln(49/48) = 0.010310.
  EXPECT_NEAR(KlDivergenceForThreshold(bins, 3, 2), 0.5 * std::log(49.0 / 48), 1e-12);
  // i = 4: P = {4, 2, 1, 1} / 8. Q: groups {4, 2} -> 3, 3 and {1, 1} -> 1, 1; / 8.
  //   KL = 1/2 ln(4/3) + 1/4 ln(2/3) + 0 + 0 = 0.042475.
  EXPECT_NEAR(KlDivergenceForThreshold(bins, 4, 2), 0.5 * std::log(4.0 / 3) + 0.25 * std::log(2.0 / 3), 1e-12);
  // So the threshold of 3 bins wins over 2 and 4.
  EXPECT_LT(KlDivergenceForThreshold(bins, 3, 2), KlDivergenceForThreshold(bins, 4, 2));
  EXPECT_LT(KlDivergenceForThreshold(bins, 3, 2), KlDivergenceForThreshold(bins, 2, 2));
}

TEST(EntropyTest, UnrepresentableBinCostsEpsilon) {
  // {4, 0, 0, 2}, i = 3, one level: P = {4, 0, 2} / 6; Q spreads the group total 4 over
  // its only non-empty bin: {4, 0, 0} / 4. P_2 > 0 with Q_2 = 0 counts as Q_2 = 1e-4 / 4:
  //   KL = 4/6 ln((4/6) / 1) + 2/6 ln((2/6) / (1e-4 / 4)) = 2.89570.
  const double expected = 4.0 / 6 * std::log(4.0 / 6) + 2.0 / 6 * std::log((2.0 / 6) / (1e-4 / 4));
  EXPECT_NEAR(KlDivergenceForThreshold({4, 0, 0, 2}, 3, 1), expected, 1e-12);
  EXPECT_NEAR(expected, 2.8957, 1e-4);
}

TEST(EntropyTest, ThresholdIsTheArgminOverTheHistogram) {
  // Normal data on an s8 symmetric grid (128 levels a side) with a far outlier.
  std::mt19937 rng(2);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> v(100000);
  for (float& x : v) x = normal(rng);
  v.push_back(50.f);
  Histogram h = Of(v);
  RangeOptions o;
  o.grid = QuantGrid{8, true};
  o.symmetric = true;
  const RangeChoice r = EntropyRange(h, o);
  // The outlier is clipped: the threshold sits a few sigma out, far below 50.
  EXPECT_GT(r.hi, 2.f);
  EXPECT_LT(r.hi, 10.f);
  EXPECT_EQ(r.lo, -r.hi);
  // And it is i * bin_width for the i minimizing the divergence.
  const std::vector<double> bins = h.AbsCounts();
  int best = 0;
  double best_kl = INFINITY;
  for (int i = 128; i <= static_cast<int>(bins.size()); ++i) {
    const double kl = KlDivergenceForThreshold(bins, i, 128);
    if (kl < best_kl) best_kl = kl, best = i;
  }
  EXPECT_FLOAT_EQ(r.hi, static_cast<float>(best * h.bin_width()));
}

TEST(EntropyTest, UniformDataIsNotClipped) {
  // Uniform on [0, 1) on u8: Q matches P at the full range (KL ~ 0); any lower threshold
  // piles the tail into one bin that Q smooths away.
  Histogram h = Of(Uniform(100000, 0.f, 1.f));
  RangeOptions o;
  const RangeChoice r = EntropyRange(h, o);
  EXPECT_EQ(r.lo, 0.f);
  EXPECT_GE(r.hi, 0.95f);
  EXPECT_LE(r.hi, h.max());
}

TEST(SamplerTest, PinnedValues) {
  // bench/torch/torch_ptq.py implements the same generator; these values pin both.
  EXPECT_EQ(SplitMix64(0).Next(), 0xe220a8397b1dcdafull);
  const std::vector<int64_t> first = SampleIndices(60000, 8, 0);
  EXPECT_EQ(first, std::vector<int64_t>({17103, 3854, 34173, 44489, 57167, 51101, 4008, 54553}));
  EXPECT_EQ(SampleIndices(10, 10, 0), std::vector<int64_t>({6, 3, 2, 9, 8, 1, 4, 7, 0, 5}));
  EXPECT_EQ(IndicesSha256(SampleIndices(60000, 1000, 0)),
            "e2448b339f3921d47861c0ecf9d84b04513c4eeee9de351aece84f8d957fa62f");
}

TEST(SamplerTest, PrefixesAreStableAndSeedsDiffer) {
  const std::vector<int64_t> a = SampleIndices(1000, 100, 42), b = SampleIndices(1000, 50, 42);
  EXPECT_TRUE(std::equal(b.begin(), b.end(), a.begin()));  // a smaller count is a prefix
  EXPECT_NE(SampleIndices(1000, 100, 43), a);
  // count > n: the whole permutation, each index once.
  std::vector<int64_t> all = SampleIndices(50, 80, 1);
  ASSERT_EQ(all.size(), 50u);
  std::sort(all.begin(), all.end());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(all[i], i);
  EXPECT_NE(IndicesSha256(a), IndicesSha256(b));
  EXPECT_EQ(IndicesSha256({}), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");  // SHA-256("")
}

}  // namespace
}  // namespace qbench::quant
