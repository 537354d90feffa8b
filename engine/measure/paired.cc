#include "engine/measure/paired.h"

#include <algorithm>
#include <cmath>

namespace qbench {
namespace {

// The 97.5% quantile of the standard normal: a two-sided 95% interval.
constexpr double kZ95 = 1.959963984540054;

// log C(n, k) through lgamma, exact enough for the tail sums below (n up to 1e7).
double LogChoose(int64_t n, int64_t k) {
  return std::lgamma(static_cast<double>(n) + 1) - std::lgamma(static_cast<double>(k) + 1) -
         std::lgamma(static_cast<double>(n - k) + 1);
}

}  // namespace

void WilsonInterval(int64_t k, int64_t n, double z, double* lo, double* hi) {
  if (n <= 0) {
    *lo = 0;
    *hi = 1;
    return;
  }
  // The roots in p of (phat - p)^2 = z^2 p (1 - p) / n.
  const double nn = static_cast<double>(n), p = static_cast<double>(k) / nn, z2 = z * z;
  const double centre = p + z2 / (2 * nn);
  const double half = z * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
  const double denom = 1 + z2 / nn;
  *lo = std::max(0.0, (centre - half) / denom);
  *hi = std::min(1.0, (centre + half) / denom);
  // At k = 0 (k = n) the lower (upper) root is exactly 0 (1); keep it so despite rounding.
  if (k == 0) *lo = 0;
  if (k == n) *hi = 1;
}

double McNemarExactP(int64_t b, int64_t c) {
  const int64_t m = b + c;
  if (m == 0) return 1;
  const int64_t k = std::min(b, c);
  // P[X <= k] for X ~ Binomial(m, 1/2), summed in log space from the largest term down
  // (terms grow with i up to k <= m / 2), so no term underflows before it matters.
  const double log_half_m = -static_cast<double>(m) * std::log(2.0);
  const double top = LogChoose(m, k) + log_half_m;
  double sum = 0;
  for (int64_t i = k; i >= 0; --i) {
    const double t = std::exp(LogChoose(m, i) + log_half_m - top);
    sum += t;
    if (t < 1e-17 * sum) break;  // the rest cannot change the double
  }
  return std::min(1.0, 2 * std::exp(top) * sum);
}

PairedComparison ComparePairedCounts(int64_t a, int64_t b, int64_t c, int64_t d) {
  PairedComparison r;
  r.both_right = a;
  r.base_only = b;
  r.other_only = c;
  r.both_wrong = d;
  r.n = a + b + c + d;
  r.p_value = McNemarExactP(b, c);
  if (r.n == 0) {
    r.ci_low = -1;
    r.ci_high = 1;
    return r;
  }
  const double n = static_cast<double>(r.n);
  // p1: the other model's accuracy, p2: the base's; delta = p1 - p2 = (c - b) / n.
  const double p1 = (a + c) / n, p2 = (a + b) / n;
  r.delta = p1 - p2;
  double l1, u1, l2, u2;
  WilsonInterval(a + c, r.n, kZ95, &l1, &u1);
  WilsonInterval(a + b, r.n, kZ95, &l2, &u2);
  // phi of the 2x2 table with rows = base right/wrong, columns = other right/wrong, with
  // Newcombe's continuity correction: a positive ad - bc is reduced by n/2 (and taken as
  // 0 when that leaves nothing); a negative one is kept.
  const double margins = static_cast<double>(a + b) * static_cast<double>(c + d) * static_cast<double>(a + c) *
                         static_cast<double>(b + d);
  const double cross = static_cast<double>(a) * d - static_cast<double>(b) * c;
  const double corrected = cross > n / 2 ? cross - n / 2 : cross < 0 ? cross : 0;
  const double phi = margins > 0 ? corrected / std::sqrt(margins) : 0;
  const double dl1 = p1 - l1, du1 = u1 - p1, dl2 = p2 - l2, du2 = u2 - p2;
  r.ci_low = r.delta - std::sqrt(std::max(0.0, dl1 * dl1 - 2 * phi * dl1 * du2 + du2 * du2));
  r.ci_high = r.delta + std::sqrt(std::max(0.0, du1 * du1 - 2 * phi * du1 * dl2 + dl2 * dl2));
  r.ci_low = std::max(-1.0, r.ci_low);
  r.ci_high = std::min(1.0, r.ci_high);
  return r;
}

PairedComparison ComparePaired(const std::vector<uint8_t>& base, const std::vector<uint8_t>& other) {
  const size_t n = std::min(base.size(), other.size());
  int64_t k[2][2] = {{0, 0}, {0, 0}};  // [base right][other right]
  for (size_t i = 0; i < n; ++i) ++k[base[i] != 0][other[i] != 0];
  return ComparePairedCounts(k[1][1], k[1][0], k[0][1], k[0][0]);
}

}  // namespace qbench
