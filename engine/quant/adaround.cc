// AdaRound (Nagel et al., "Up or Down? Adaptive Rounding for Post-Training
// Quantization"), derived in docs/quantization.md section 7d.
//
// Each weight rounds to floor(w/s) + h with h in [0, 1] a rectified sigmoid of a free
// variable v:  h(v) = clip(sigmoid(v) (zeta - gamma) + gamma, 0, 1),  zeta = 1.1,
// gamma = -0.1 (so h reaches 0 and 1 exactly, with a gradient inside). The loss is
//   L = tr(dW H dW^T) / E_nearest + (lambda / n) sum (1 - |2h - 1|^beta),
//   dW = s (clamp(floor(w/s) + z + h) - z) - w,
// the layer's squared output error over the calibration rows (the Hessian form of
// ||W_q X - W X||^2, so no input is stored) in units of round-to-nearest's error
// E_nearest, plus a regularizer, a mean over the n weights, that pushes every h to 0 or
// 1 as beta falls from 20 to 2. Both normalizations make lambda mean the same on every
// layer. The gradient, which we compute by hand:
//   dL/dh = (2 / E_nearest) s [dW H]  (zero where the clamp is active)
//           - (2 lambda / n) beta |2h - 1|^(beta - 1) sign(2h - 1),
//   dh/dv = (zeta - gamma) sigmoid(v) (1 - sigmoid(v))   (zero where h is clipped).
// The product dW H is oneDNN's sgemm. Adam takes the steps; the first 20% of them run
// without the regularizer (the warm start). The result rounds up where v >= 0 (h >= 1/2).
// Everything is deterministic: the gradient is exact over all calibration rows.
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "oneapi/dnnl/dnnl.h"
#include "engine/quant/rounding.h"

namespace qbench::quant {
namespace {

constexpr double kZeta = 1.1, kGamma = -0.1;
constexpr double kBetaStart = 20, kBetaEnd = 2, kWarmStart = 0.2;
constexpr double kAdamB1 = 0.9, kAdamB2 = 0.999, kAdamEps = 1e-8;

double Sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// The regularizer's temperature at step t of `steps` (linear decay after the warm start;
// 0 during the warm start: no regularizer).
double BetaAt(int t, int steps) {
  const double warm = kWarmStart * steps;
  if (t < warm) return 0;
  const double f = (t - warm) / std::max(1.0, steps - warm);
  return kBetaEnd + (kBetaStart - kBetaEnd) * (1.0 - f);
}

}  // namespace

absl::Status AdaroundRound(const RoundingProblem& p, const RoundingOptions& o, int32_t* q) {
  if (o.iterations < 1) return absl::InvalidArgumentError("adaround needs at least one iteration");
  const int64_t n = p.rows * p.cols;
  std::vector<int32_t> base(n);          // floor(w/s) + z
  std::vector<float> v(n), m(n, 0.f), s2(n, 0.f), d(n), g(n);
  for (int64_t r = 0; r < p.rows; ++r)
    for (int64_t c = 0; c < p.cols; ++c) {
      const int64_t i = r * p.cols + c;
      const double x = p.w[i] / p.scale[r];
      const double fl = std::floor(x);
      base[i] = static_cast<int32_t>(std::clamp(fl, -1e9, 1e9)) + p.zero_point[r];
      // h(v) = frac(x) at the start: v = -log((zeta - gamma) / (frac - gamma) - 1).
      const double frac = std::clamp(x - fl, 0.0, 1.0);
      v[i] = static_cast<float>(-std::log((kZeta - kGamma) / (frac - kGamma) - 1.0));
    }
  // The reconstruction term is measured in units of round-to-nearest's error and the
  // regularizer is a mean over the weights, so `reg` means the same on every layer
  // whatever the scale of its inputs and the number of its weights.
  std::vector<int32_t> nearest(n);
  NearestRound(p, nearest.data());
  const double e_nearest = OutputError(p, nearest.data());
  if (!(e_nearest > 0)) {  // nearest is exact on these inputs
    std::copy(nearest.begin(), nearest.end(), q);
    return absl::OkStatus();
  }
  const double inv_n = 1.0 / e_nearest, reg = o.reg / static_cast<double>(n);
  double b1t = 1, b2t = 1;
  for (int t = 0; t < o.iterations; ++t) {
    const double beta = BetaAt(t, o.iterations);
    // dW for the current soft rounding.
    for (int64_t r = 0; r < p.rows; ++r)
      for (int64_t c = 0; c < p.cols; ++c) {
        const int64_t i = r * p.cols + c;
        const double h = std::clamp(Sigmoid(v[i]) * (kZeta - kGamma) + kGamma, 0.0, 1.0);
        const double qs = std::clamp(base[i] + h, static_cast<double>(p.qmin), static_cast<double>(p.qmax));
        d[i] = static_cast<float>(p.scale[r] * (qs - p.zero_point[r]) - p.w[i]);
      }
    // g = dW H (H symmetric: each row of g is H times that row of dW).
    if (dnnl_sgemm('N', 'N', p.rows, p.cols, p.cols, 1.f, d.data(), p.cols, p.h, p.cols, 0.f, g.data(), p.cols) !=
        dnnl_success)
      return absl::InternalError("oneDNN sgemm failed in adaround");
    b1t *= kAdamB1;
    b2t *= kAdamB2;
    for (int64_t r = 0; r < p.rows; ++r)
      for (int64_t c = 0; c < p.cols; ++c) {
        const int64_t i = r * p.cols + c;
        const double sg = Sigmoid(v[i]);
        const double h_raw = sg * (kZeta - kGamma) + kGamma;
        if (h_raw <= 0 || h_raw >= 1) {  // clipped: no gradient reaches v
          m[i] *= static_cast<float>(kAdamB1);
          s2[i] *= static_cast<float>(kAdamB2);
          continue;
        }
        const double qs = base[i] + h_raw;
        double dh = (qs >= p.qmin && qs <= p.qmax) ? 2.0 * inv_n * p.scale[r] * g[i] : 0.0;
        if (beta > 0) {
          const double u = 2 * h_raw - 1;
          dh -= 2.0 * reg * beta * std::pow(std::abs(u), beta - 1) * (u > 0 ? 1 : u < 0 ? -1 : 0);
        }
        const double gv = dh * (kZeta - kGamma) * sg * (1 - sg);
        m[i] = static_cast<float>(kAdamB1 * m[i] + (1 - kAdamB1) * gv);
        s2[i] = static_cast<float>(kAdamB2 * s2[i] + (1 - kAdamB2) * gv * gv);
        const double mh = m[i] / (1 - b1t), vh = s2[i] / (1 - b2t);
        v[i] -= static_cast<float>(o.learning_rate * mh / (std::sqrt(vh) + kAdamEps));
      }
  }
  for (int64_t i = 0; i < n; ++i) q[i] = std::clamp(base[i] + (v[i] >= 0 ? 1 : 0), p.qmin, p.qmax);
  return absl::OkStatus();
}

}  // namespace qbench::quant
