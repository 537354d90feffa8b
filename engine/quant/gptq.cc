// GPTQ/OBQ rounding (Frantar et al., "Optimal Brain Compression", "GPTQ"), derived in
// docs/quantization.md section 7d.
//
// Per row, the output error of a weight change d is d^T H d. Rounding input i alone
// (w_i -> q_i) and letting the inputs not yet rounded (F) absorb it optimally gives
//   d_F = -(w_i - q_i) / [H_F^-1]_ii * [H_F^-1]_{F,i},
// where H_F^-1 is the inverse Hessian over i and the inputs after it. Row i of the upper
// Cholesky factor U of H^-1 (H^-1 = U^T U) holds exactly [H_F^-1]_{i,j} / sqrt([H_F^-1]_ii)
// for j >= i, so every step reads one row of U instead of re-inverting:
//   e = (w_i - q_i) / U_ii,   w_j -= e U_ij  for j > i.
// H is dampened by a fraction of its mean diagonal so the factorizations exist when
// some inputs are constant or collinear. With act_order, inputs are taken by decreasing
// H_ii: the most-read inputs are rounded while the most freedom is left to absorb them.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/quant/rounding.h"

namespace qbench::quant {
namespace {

// The upper factor U of (L L^T)^-1 = U^T U, from the lower factor L: with
// M = L^-1 (lower), (L L^T)^-1 = M^T M, whose lower Cholesky factor transposed is U.
bool UpperFactorOfInverse(const std::vector<double>& l, int64_t n, std::vector<double>* u) {
  std::vector<double> m(static_cast<size_t>(n * n), 0.0);
  for (int64_t j = 0; j < n; ++j) {  // column j of L^-1 by forward substitution
    m[j * n + j] = 1.0 / l[j * n + j];
    for (int64_t i = j + 1; i < n; ++i) {
      double s = 0;
      for (int64_t k = j; k < i; ++k) s += l[i * n + k] * m[k * n + j];
      m[i * n + j] = -s / l[i * n + i];
    }
  }
  std::vector<double> inv(static_cast<size_t>(n * n), 0.0);  // M^T M, lower triangle
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      double s = 0;
      for (int64_t k = i; k < n; ++k) s += m[k * n + i] * m[k * n + j];
      inv[i * n + j] = s;
      inv[j * n + i] = s;
    }
  if (!CholeskyLower(inv, n)) return false;
  u->assign(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j <= i; ++j) (*u)[j * n + i] = inv[i * n + j];
  return true;
}

}  // namespace

// In-place lower Cholesky factor of the n x n row-major symmetric a (a = L L^T; the
// upper triangle is left as it was). False when a is not positive definite.
bool CholeskyLower(std::vector<double>& a, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (int64_t k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0) || !std::isfinite(d)) return false;
    const double ljj = std::sqrt(d);
    a[j * n + j] = ljj;
    for (int64_t i = j + 1; i < n; ++i) {
      double s = a[i * n + j];
      const double* li = &a[i * n];
      const double* lj = &a[j * n];
      for (int64_t k = 0; k < j; ++k) s -= li[k] * lj[k];
      a[i * n + j] = s / ljj;
    }
  }
  return true;
}

absl::Status GptqRound(const RoundingProblem& p, const RoundingOptions& o, int32_t* q) {
  const int64_t n = p.cols;
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  if (o.act_order)
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return p.h[a * n + a] > p.h[b * n + b]; });
  double mean_diag = 0;
  for (int64_t i = 0; i < n; ++i) mean_diag += p.h[i * n + i];
  mean_diag /= static_cast<double>(n);
  if (!(mean_diag > 0)) {  // every input was zero: no output error to feed back
    NearestRound(p, q);
    return absl::OkStatus();
  }
  // H in the rounding order, dampened (ten times more on each failed factorization).
  std::vector<double> u;
  bool factored = false;
  for (int attempt = 0; attempt < 4 && !factored; ++attempt) {
    const double damp = o.damp * std::pow(10.0, attempt) * mean_diag;
    std::vector<double> a(static_cast<size_t>(n * n));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) a[i * n + j] = p.h[order[i] * n + order[j]] + (i == j ? damp : 0.0);
    factored = CholeskyLower(a, n) && UpperFactorOfInverse(a, n, &u);
  }
  if (!factored) return absl::FailedPreconditionError("the dampened Hessian is not positive definite");

  std::vector<float> uf(u.begin(), u.end());
  std::vector<float> w(static_cast<size_t>(n));
  for (int64_t r = 0; r < p.rows; ++r) {
    for (int64_t i = 0; i < n; ++i) w[i] = p.w[r * n + order[i]];
    const float s = p.scale[r];
    const int32_t z = p.zero_point[r];
    for (int64_t i = 0; i < n; ++i) {
      const int32_t qi = QuantizeValue(w[i], s, z, p.qmin, p.qmax);
      q[r * n + order[i]] = qi;
      const float e = (w[i] - DequantizeValue(qi, s, z)) / uf[i * n + i];
      const float* ui = &uf[i * n];
      for (int64_t j = i + 1; j < n; ++j) w[j] -= e * ui[j];
    }
  }
  return absl::OkStatus();
}

}  // namespace qbench::quant
