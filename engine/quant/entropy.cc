// Entropy (KL divergence) calibration, as TensorRT's entropy calibrator defines it.
//
// On the |x| histogram with N bins of width w, for each candidate threshold i*w
// (i = levels .. N):
//   P = bins[0, i) with the tail sum(bins[i, N)) added to bin i-1 (clipped values
//       saturate at the threshold);
//   Q = bins[0, i) merged into `levels` groups of i/levels bins (the last group takes
//       the remainder); each group's total is spread evenly over its non-empty bins,
//       so Q is what a `levels`-level quantizer preserves of P;
//   KL(P || Q) = sum_j P_j log(P_j / Q_j) over P_j > 0, both normalized; a Q_j = 0
//       where P_j > 0 (a bin the quantizer cannot represent) costs as if Q_j = eps.
// The threshold with the smallest divergence wins. Bin 0 (|x| ~ 0) is set to bin 1's
// count first (see EntropyRange).
#include <cmath>
#include <limits>
#include <numeric>

#include "engine/quant/range_method.h"

namespace qbench::quant {

double KlDivergenceForThreshold(const std::vector<double>& bins, int i, int levels) {
  std::vector<double> p(bins.begin(), bins.begin() + i);
  p[i - 1] += std::accumulate(bins.begin() + i, bins.end(), 0.0);
  std::vector<double> q(i, 0.0);
  const int merged = i / levels;
  for (int g = 0; g < levels; ++g) {
    const int start = g * merged, end = g == levels - 1 ? i : start + merged;
    double total = 0;
    int nonzero = 0;
    for (int j = start; j < end; ++j) {
      total += bins[j];
      nonzero += bins[j] != 0;
    }
    if (nonzero == 0) continue;
    for (int j = start; j < end; ++j)
      if (bins[j] != 0) q[j] = total / nonzero;
  }
  const double ps = std::accumulate(p.begin(), p.end(), 0.0), qs = std::accumulate(q.begin(), q.end(), 0.0);
  if (ps == 0 || qs == 0) return std::numeric_limits<double>::infinity();
  constexpr double kEps = 1e-4;
  double kl = 0;
  for (int j = 0; j < i; ++j) {
    if (p[j] == 0) continue;
    const double pj = p[j] / ps, qj = q[j] > 0 ? q[j] / qs : kEps / qs;
    kl += pj * std::log(pj / qj);
  }
  return kl;
}

RangeChoice EntropyRange(const Histogram& h, const RangeOptions& options) {
  std::vector<double> bins = h.AbsCounts();
  // The spike of exact zeros (ReLU outputs, padding) is not information a clipping
  // threshold can keep or lose, but it dominates P and drags the divergence towards
  // small thresholds; like NVIDIA's histogram calibrator, count bin 0 as its neighbour.
  if (bins.size() > 1) bins[0] = bins[1];
  const int n = static_cast<int>(bins.size());
  // Levels available on one side of zero: the whole grid for non-negative data on an
  // unsigned grid, half of it otherwise.
  const int grid_levels = options.grid.qmax() - options.grid.qmin() + 1;
  const bool one_sided = h.min() >= 0.f && !options.grid.is_signed;
  const int levels = std::min(n, one_sided ? grid_levels : grid_levels / 2);
  int last = n;
  while (last > levels && bins[last - 1] == 0) --last;  // beyond the maximum nothing changes
  int best_i = last;
  double best_kl = std::numeric_limits<double>::infinity();
  for (int i = levels; i <= last; ++i) {
    const double kl = KlDivergenceForThreshold(bins, i, levels);
    if (kl < best_kl) {
      best_kl = kl;
      best_i = i;
    }
  }
  const float t = static_cast<float>(best_i * h.bin_width());  // |x| bin i covers [i, i+1) * 2R/B
  const float threshold = std::min(t, std::max(-h.min(), h.max()));
  if (h.min() >= 0.f) return {0.f, std::min(threshold, h.max())};
  return {std::max(-threshold, h.min()), std::min(threshold, h.max())};
}

}  // namespace qbench::quant
