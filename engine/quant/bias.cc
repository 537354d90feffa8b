#include "engine/quant/bias.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace qbench::quant {

std::vector<double> BiasCorrection(const Tensor& w, const Tensor& wq_real, const std::vector<double>& mean_x,
                                   bool is_gemm, bool trans_b, int64_t group) {
  const float* a = w.data<float>();
  const float* b = wq_real.data<float>();
  if (is_gemm) {
    const int64_t k_dim = trans_b ? w.dim(1) : w.dim(0), n_dim = trans_b ? w.dim(0) : w.dim(1);
    std::vector<double> shift(n_dim, 0.0);
    for (int64_t k = 0; k < k_dim; ++k)
      for (int64_t n = 0; n < n_dim; ++n) {
        const int64_t i = trans_b ? n * k_dim + k : k * n_dim + n;
        shift[n] -= (static_cast<double>(b[i]) - a[i]) * mean_x[k];
      }
    return shift;
  }
  const int64_t oc = w.dim(0), icg = w.dim(1), taps = w.num_elements() / (oc * icg);
  const int64_t oc_per_group = oc / group;
  std::vector<double> shift(oc, 0.0);
  for (int64_t c = 0; c < oc; ++c) {
    const int64_t first_ic = (c / oc_per_group) * icg;
    for (int64_t ic = 0; ic < icg; ++ic)
      for (int64_t t = 0; t < taps; ++t) {
        const int64_t i = (c * icg + ic) * taps + t;
        shift[c] -= (static_cast<double>(b[i]) - a[i]) * mean_x[first_ic + ic];
      }
  }
  return shift;
}

absl::Status RoundBiasToInt32(Tensor* bias, float s_x, const QuantParams& weights, const std::string& what) {
  float* b = bias->data<float>();
  for (int64_t c = 0; c < bias->num_elements(); ++c) {
    const double step = static_cast<double>(s_x) * weights.scale[weights.scale.size() == 1 ? 0 : c];
    const double q = std::nearbyint(b[c] / step);
    if (std::abs(q) > 2147483647.0)
      return absl::InvalidArgumentError(absl::StrCat(what, ": bias[", c, "] = ", b[c], " does not fit int32 at scale ", step));
    b[c] = static_cast<float>(q * step);
  }
  return absl::OkStatus();
}

}  // namespace qbench::quant
