#include "engine/quant/calibrate.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/quant/sampler.h"

namespace qbench::quant {

absl::StatusOr<CalibrationData> Calibrate(Session& session, const data::Dataset& dataset,
                                          const std::string& dataset_name, const CalibrationOptions& options) {
  if (options.samples < 1)
    return absl::InvalidArgumentError("job spec: field \"calibration.samples\" must be >= 1 for static quantization");
  if (dataset.size() == 0)
    return absl::InvalidArgumentError(absl::StrCat("calibration dataset ", dataset_name, " has no samples"));
  const Shape declared = session.input_shape(0);
  const Shape& sample = dataset.sample_shape();
  bool shape_ok = declared.size() == sample.size() + 1;
  for (size_t d = 0; shape_ok && d < sample.size(); ++d)
    shape_ok = declared[d + 1] == kDynamicDim || declared[d + 1] == sample[d];
  if (!shape_ok)
    return absl::InvalidArgumentError(absl::StrCat("calibration dataset ", dataset_name, " yields samples of shape ",
                                                   ShapeToString(sample), " but model input \"",
                                                   session.input_names()[0], "\" expects ", ShapeToString(declared)));
  const bool fixed_batch = !declared.empty() && declared[0] != kDynamicDim;
  const int64_t batch = fixed_batch ? declared[0] : options.batch_size;

  const auto t0 = std::chrono::steady_clock::now();
  CalibrationData out;
  out.indices = SampleIndices(dataset.size(), options.samples, options.seed);
  out.indices_sha256 = IndicesSha256(out.indices);
  const Graph& g = session.graph();
  std::map<int, std::vector<double>> sums;
  std::map<int, int64_t> counts;
  ValueObserver observe = [&](int v, const Tensor& t) -> absl::Status {
    if (t.dtype() != DType::kF32 || g.values[v].constant) return absl::OkStatus();
    absl::Status s = out.histograms[v].Add(std::span(t.data<float>(), t.num_elements()));
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("calibration: tensor \"", g.values[v].name, "\" ", s.message()));
    if (t.rank() >= 2 && t.dim(1) > 0) {
      const int64_t c = t.dim(1), inner = t.num_elements() / (t.dim(0) * c);
      std::vector<double>& sum = sums[v];
      sum.resize(c, 0.0);
      const float* x = t.data<float>();
      for (int64_t i = 0; i < t.num_elements(); ++i) sum[(i / inner) % c] += x[i];
      counts[v] += t.dim(0) * inner;
    }
    return absl::OkStatus();
  };
  const int64_t n = static_cast<int64_t>(out.indices.size());
  for (int64_t first = 0; first < n; first += batch) {
    const int64_t count = std::min(batch, n - first);
    std::vector<int64_t> idx(out.indices.begin() + first, out.indices.begin() + first + count);
    // A fixed-batch model gets its short last batch padded with repeats of that batch's
    // samples (they are observed twice: a few samples' weight in the histograms).
    for (size_t i = 0; fixed_batch && static_cast<int64_t>(idx.size()) < batch; ++i) idx.push_back(idx[i]);
    QB_ASSIGN_OR_RETURN(Tensor x, data::LoadBatch(dataset, idx, options.loader_threads));
    absl::Status s = session.Run({x}, &observe).status();
    if (!s.ok())
      return Annotate(s, absl::StrCat("calibration batch of samples ", first, "..", first + count - 1, " of ", dataset_name));
  }
  for (auto& [v, sum] : sums) {
    for (double& m : sum) m /= static_cast<double>(counts[v]);
    out.channel_means[v] = std::move(sum);
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace qbench::quant
