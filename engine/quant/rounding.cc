#include "engine/quant/rounding.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "oneapi/dnnl/dnnl.h"
#include "engine/graph/graph.h"
#include "engine/quant/hessian.h"

namespace qbench::quant {
namespace {

float RealOf(const RoundingProblem& p, int64_t r, int32_t q) {
  return DequantizeValue(q, p.scale[r], p.zero_point[r]);
}

// sum over rows of d_r^T H d_r for the rows x cols matrix d (M = d H by sgemm, then the
// elementwise product with d, summed in double).
double QuadraticForm(const std::vector<float>& d, const RoundingProblem& p) {
  std::vector<float> m(d.size());
  dnnl_sgemm('N', 'N', p.rows, p.cols, p.cols, 1.f, d.data(), p.cols, p.h, p.cols, 0.f, m.data(), p.cols);
  double sum = 0;
  for (size_t i = 0; i < d.size(); ++i) sum += static_cast<double>(m[i]) * d[i];
  return std::max(sum, 0.0);
}

// sum of the elementwise product of two equal-size matrices, in double.
double Dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

std::vector<float> Real(const RoundingProblem& p, const int32_t* q) {
  std::vector<float> out(static_cast<size_t>(p.rows * p.cols));
  for (int64_t r = 0; r < p.rows; ++r)
    for (int64_t c = 0; c < p.cols; ++c) out[r * p.cols + c] = RealOf(p, r, q[r * p.cols + c]);
  return out;
}

// With quantized inputs (docs/quantization.md section 7d) the layer's error is
//   ||W_q X~ - W X||^2 = tr(W_q H~ W_q^T) - 2 tr(W C W_q^T) + tr(W H W^T),
// and it equals tr((W_q - W*) H~ (W_q - W*)^T) plus a constant, with W* = W C H~^-1 the
// best float weights for those inputs (least squares). So rounding W* under H~ is the
// same problem as before, with W* as the weights.
struct Asymmetric {
  std::vector<float> target;  // W*, rows x cols
  std::vector<float> wc;      // W C
  double energy = 0;          // tr(W H W^T)
};

// W* = W + (W C - W H~) (H~ + damp mean(diag) I)^-1: the damping only shrinks the
// correction, so W* is W itself when the inputs are FP32's (C = H~).
bool SolveTarget(const float* w, int64_t rows, int64_t cols, const float* h, const float* cross, const float* h_fp32,
                 double damp, Asymmetric* a) {
  const size_t n = static_cast<size_t>(rows * cols);
  a->wc.assign(n, 0.f);
  std::vector<float> wh(n), whf(n);
  dnnl_sgemm('N', 'N', rows, cols, cols, 1.f, w, cols, cross, cols, 0.f, a->wc.data(), cols);
  dnnl_sgemm('N', 'N', rows, cols, cols, 1.f, w, cols, h, cols, 0.f, wh.data(), cols);
  dnnl_sgemm('N', 'N', rows, cols, cols, 1.f, w, cols, h_fp32, cols, 0.f, whf.data(), cols);
  a->energy = 0;
  for (size_t i = 0; i < n; ++i) a->energy += static_cast<double>(whf[i]) * w[i];
  double mean = 0;
  for (int64_t i = 0; i < cols; ++i) mean += h[i * cols + i];
  mean /= static_cast<double>(cols);
  if (!(mean > 0)) return false;
  std::vector<double> l(static_cast<size_t>(cols * cols));  // Cholesky of the dampened H~
  for (int64_t i = 0; i < cols; ++i)
    for (int64_t j = 0; j < cols; ++j) l[i * cols + j] = h[i * cols + j] + (i == j ? damp * mean : 0.0);
  if (!CholeskyLower(l, cols)) return false;
  a->target.assign(n, 0.f);
  std::vector<double> y(cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < cols; ++i) {  // L y = (W C - W H~)_r
      double s = static_cast<double>(a->wc[r * cols + i]) - wh[r * cols + i];
      for (int64_t k = 0; k < i; ++k) s -= l[i * cols + k] * y[k];
      y[i] = s / l[i * cols + i];
    }
    for (int64_t i = cols - 1; i >= 0; --i) {  // L^T x = y
      double s = y[i];
      for (int64_t k = i + 1; k < cols; ++k) s -= l[k * cols + i] * y[k];
      y[i] = s / l[i * cols + i];
    }
    for (int64_t i = 0; i < cols; ++i) a->target[r * cols + i] = static_cast<float>(w[r * cols + i] + y[i]);
  }
  return true;
}

double AsymmetricError(const RoundingProblem& p, const Asymmetric& a, const int32_t* q) {
  const std::vector<float> wq = Real(p, q);
  return std::max(0.0, QuadraticForm(wq, p) - 2.0 * Dot(a.wc, wq) + a.energy);
}

double Db(double signal, double noise) {
  if (noise <= 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

// The layer's weights as row-major rows (output channels) x cols (inputs): Conv {M, C/G,
// K...} and Gemm {N, K} (transB) already are; Gemm {K, N} is transposed.
bool NeedsTranspose(const Node& node) {
  return node.op_type == "Gemm" && node.attrs.GetInt("transB", 0).value_or(0) == 0;
}

}  // namespace

void NearestRound(const RoundingProblem& p, int32_t* q) {
  for (int64_t r = 0; r < p.rows; ++r)
    for (int64_t c = 0; c < p.cols; ++c)
      q[r * p.cols + c] = QuantizeValue(p.w[r * p.cols + c], p.scale[r], p.zero_point[r], p.qmin, p.qmax);
}

double OutputError(const RoundingProblem& p, const int32_t* q) {
  std::vector<float> d(static_cast<size_t>(p.rows * p.cols));
  for (int64_t r = 0; r < p.rows; ++r)
    for (int64_t c = 0; c < p.cols; ++c) d[r * p.cols + c] = RealOf(p, r, q[r * p.cols + c]) - p.w[r * p.cols + c];
  return QuadraticForm(d, p);
}

double OutputEnergy(const RoundingProblem& p) {
  return QuadraticForm(std::vector<float>(p.w, p.w + p.rows * p.cols), p);
}

absl::StatusOr<RoundingReport> RoundLayerWeights(const Node& node, const Tensor& w, const LayerHessian& h,
                                                 const RoundingOptions& o, QuantizedWeights* qw) {
  const auto t0 = std::chrono::steady_clock::now();
  const LayerShape shape = ShapeOfLayer(node, w);
  if (h.cols != shape.cols || h.groups != shape.groups || h.rows == 0)
    return absl::InternalError(absl::StrCat("node \"", node.name, "\": its Hessian does not match its weights"));
  const bool transpose = NeedsTranspose(node);
  const int64_t rows = shape.rows, cols = shape.cols, per_group = rows / shape.groups;
  std::vector<float> wr(static_cast<size_t>(rows * cols));
  const float* src = w.data<float>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) wr[r * cols + c] = transpose ? src[c * rows + r] : src[r * cols + c];
  const QuantParams& qp = qw->params;
  std::vector<float> scale(rows);
  std::vector<int32_t> zero(rows);
  for (int64_t r = 0; r < rows; ++r) {
    scale[r] = qp.scale[qp.per_channel() ? r : 0];
    zero[r] = qp.zero_point[qp.per_channel() ? r : 0];
  }

  RoundingReport rep;
  rep.method = o.method;
  std::vector<int32_t> q(static_cast<size_t>(rows * cols)), nearest(q.size());
  double signal = 0, err = 0, err_nearest = 0;
  for (int64_t g = 0; g < shape.groups; ++g) {
    const int64_t at = g * cols * cols;
    RoundingProblem p{per_group, cols, wr.data() + g * per_group * cols, h.h.data() + at, h.rows,
                      scale.data() + g * per_group, zero.data() + g * per_group, qp.qmin, qp.qmax};
    int32_t* qg = q.data() + g * per_group * cols;
    int32_t* ng = nearest.data() + g * per_group * cols;
    NearestRound(p, ng);  // of W itself: what nearest rounding gives
    Asymmetric a;
    const bool asymmetric = !h.cross.empty();
    if (asymmetric) {
      if (!SolveTarget(p.w, per_group, cols, p.h, h.cross.data() + at, h.h_fp32.data() + at, o.damp, &a))
        return absl::FailedPreconditionError(
            absl::StrCat("node \"", node.name, "\": the Hessian of its quantized inputs is singular"));
      p.w = a.target.data();
    }
    absl::Status s = o.method == Rounding::kGptq     ? GptqRound(p, o, qg)
                     : o.method == Rounding::kAdaround ? AdaroundRound(p, o, qg)
                                                       : absl::UnimplementedError(absl::StrCat(
                                                             "rounding \"", std::string(RoundingOf(o.method).name), "\" is not built"));
    if (!s.ok()) {
      std::copy(ng, ng + per_group * cols, qg);
      rep.method = Rounding::kNearest;
      rep.note = absl::StrCat("kept nearest rounding: ", s.message());
    }
    if (asymmetric) {
      signal += a.energy;
      err += AsymmetricError(p, a, qg);
      err_nearest += AsymmetricError(p, a, ng);
    } else {
      signal += OutputEnergy(p);
      err += OutputError(p, qg);
      err_nearest += OutputError(p, ng);
    }
  }
  if (err > err_nearest) {
    // Both methods minimize a surrogate; where the result reconstructs worse than nearest
    // on the same data (it can, when H is ill-conditioned), nearest is kept.
    q = nearest;
    err = err_nearest;
    rep.note = absl::StrCat(std::string(RoundingOf(o.method).name), " reconstructed worse than nearest rounding; nearest kept");
    rep.method = Rounding::kNearest;
  }
  int8_t* dst = qw->q.data<int8_t>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[transpose ? c * rows + r : r * cols + c] = static_cast<int8_t>(q[r * cols + c]);
  rep.sqnr_db = Db(signal, err);
  rep.nearest_sqnr_db = Db(signal, err_nearest);
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

}  // namespace qbench::quant
