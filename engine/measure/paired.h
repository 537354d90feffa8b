// Paired comparison of two classifiers scored on the same samples: is a quantized
// configuration's top-1 really different from FP32's, or is the delta noise?
//
// Per sample each model is right or wrong, which gives the 2x2 table
//
//                    other right   other wrong
//     base right          a             b
//     base wrong          c             d          n = a + b + c + d
//
// The delta of the other model's accuracy to the base's is (c - b) / n: only the
// discordant samples (b and c) carry information about it.
//
// - The p-value is the exact (conditional) McNemar test: under H0 each discordant sample
//   is equally likely to be of either kind, so b ~ Binomial(b + c, 1/2), and
//   p = min(1, 2 P[X <= min(b, c)]).
// - The 95% interval is Newcombe's hybrid score interval for a paired difference
//   (Newcombe 1998, "method 10"): the Wilson score intervals [l1, u1] and [l2, u2] of the
//   two marginal proportions p1 = (a + c) / n and p2 = (a + b) / n, combined with the
//   correlation phi of the 2x2 table:
//     delta = p1 - p2
//     lo = delta - sqrt((p1 - l1)^2 - 2 phi (p1 - l1)(u2 - p2) + (u2 - p2)^2)
//     hi = delta + sqrt((u1 - p1)^2 - 2 phi (u1 - p1)(p2 - l2) + (p2 - l2)^2)
//   with phi = A / sqrt((a + b)(c + d)(a + c)(b + d)) where A = a d - b c corrected for
//   continuity (A - n/2 when A > n/2, 0 when 0 <= A <= n/2, A when A < 0), and phi = 0
//   when a margin is empty. It stays inside [-1, 1], is not degenerate when b = c = 0, and has
//   close to nominal coverage down to small n, where the Wald interval does not.
// Both are derived in docs/quantization.md ("Accuracy and its uncertainty").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qbench {

struct PairedComparison {
  int64_t n = 0;
  int64_t both_right = 0;    // a
  int64_t base_only = 0;     // b: base (FP32) right, other wrong
  int64_t other_only = 0;    // c: other right, base (FP32) wrong
  int64_t both_wrong = 0;    // d
  double delta = 0;          // (c - b) / n, a fraction
  double ci_low = 0, ci_high = 0;  // 95% interval of delta, fractions
  double p_value = 1;        // exact two-sided McNemar
  // True when the interval excludes 0: the difference is distinguishable from noise.
  bool significant() const { return ci_low > 0 || ci_high < 0; }
};

// Method strings written beside the figures.
inline constexpr char kPairedIntervalMethod[] =
    "Newcombe hybrid score interval for a paired difference of proportions (method 10), 95%";
inline constexpr char kPairedTestMethod[] = "exact two-sided McNemar test on the discordant samples";

// Wilson score interval of k successes in n trials at the normal quantile z.
void WilsonInterval(int64_t k, int64_t n, double z, double* lo, double* hi);

// Exact two-sided McNemar p-value for b and c discordant samples.
double McNemarExactP(int64_t b, int64_t c);

// From the 2x2 counts.
PairedComparison ComparePairedCounts(int64_t a, int64_t b, int64_t c, int64_t d);

// From per-sample outcomes (nonzero: right) of the base and the other model, in the same
// sample order; the shorter length is used.
PairedComparison ComparePaired(const std::vector<uint8_t>& base, const std::vector<uint8_t>& other);

}  // namespace qbench
