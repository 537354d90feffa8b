#include "engine/pipeline/split.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "engine/quant/sampler.h"

namespace qbench {
namespace {

// Manifests are small; a larger file is not compared byte for byte.
constexpr std::uintmax_t kMaxManifestCompareBytes = 1 << 20;

bool ReadSmall(const std::string& path, std::string* out) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size > kMaxManifestCompareBytes) return false;
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return static_cast<bool>(f);
}

std::vector<int64_t> Sorted(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// [0, n) without the ascending `drop`.
std::vector<int64_t> Complement(int64_t n, const std::vector<int64_t>& drop) {
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(n) - std::min(drop.size(), static_cast<size_t>(n)));
  size_t j = 0;
  for (int64_t i = 0; i < n; ++i) {
    while (j < drop.size() && drop[j] < i) ++j;
    if (j < drop.size() && drop[j] == i) continue;
    out.push_back(i);
  }
  return out;
}

absl::Status SplitError(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("job spec: field \"", field, "\" ", what));
}

}  // namespace

bool SameDataset(const std::string& a, const std::string& b) {
  if (a.empty() || b.empty()) return false;
  std::error_code ea, eb;
  const auto ca = std::filesystem::weakly_canonical(a, ea), cb = std::filesystem::weakly_canonical(b, eb);
  if (!ea && !eb && ca == cb) return true;
  std::string ta, tb;
  return ReadSmall(a, &ta) && ReadSmall(b, &tb) && ta == tb;
}

int64_t CountIn(const std::vector<int64_t>& indices, const std::vector<int64_t>& sorted) {
  int64_t n = 0;
  for (int64_t i : indices) n += std::binary_search(sorted.begin(), sorted.end(), i);
  return n;
}

absl::StatusOr<EvaluationSplit> MakeEvaluationSplit(const JobSpec& spec, int64_t eval_total,
                                                    int64_t validation_size) {
  EvaluationSplit s;
  const ValidationSpec& v = spec.validation;
  s.seed = v.seed;
  s.calibration_is_eval_data = SameDataset(spec.calibration_dataset, spec.eval_dataset);
  const bool holdout = v.enabled() && (v.dataset.empty() || SameDataset(v.dataset, spec.eval_dataset));
  if (!v.enabled()) {
    s.mode = "all";
    s.test_indices.resize(eval_total);
    for (int64_t i = 0; i < eval_total; ++i) s.test_indices[i] = i;
    s.selection = "every evaluated sample (no validation split)";
  } else if (holdout) {
    s.mode = "holdout";
    s.validation_dataset = spec.eval_dataset;
    const int64_t k = v.samples > 0 ? v.samples : std::llround(v.fraction * static_cast<double>(eval_total));
    if (k < 1) return SplitError("validation.fraction", "leaves no validation sample");
    if (k >= eval_total)
      return SplitError(v.samples > 0 ? "validation.samples" : "validation.fraction",
                        absl::StrCat("asks for ", k, " of the ", eval_total,
                                     " evaluated samples: at least one must stay a test sample"));
    s.validation_indices = Sorted(quant::SampleIndices(eval_total, k, v.seed));
    s.test_indices = Complement(eval_total, s.validation_indices);
    s.selection = absl::StrCat("validation: the first ", k, " of a SplitMix64(", v.seed,
                               ") Fisher-Yates shuffle of the ", eval_total,
                               " evaluated samples (quant/sampler.h); test: the other ", eval_total - k);
  } else {
    s.mode = "dataset";
    s.validation_dataset = v.dataset;
    s.test_indices.resize(eval_total);
    for (int64_t i = 0; i < eval_total; ++i) s.test_indices[i] = i;
    if (v.samples > validation_size)
      return SplitError("validation.samples", absl::StrCat("asks for ", v.samples, " samples but the dataset has ",
                                                           validation_size));
    if (SameDataset(v.dataset, spec.calibration_dataset)) {
      // Drawn from the same shuffle order, skipping the job's calibration samples.
      const std::vector<int64_t> calib =
          Sorted(quant::SampleIndices(validation_size, std::min(spec.calibration_samples, validation_size), spec.seed));
      if (validation_size - static_cast<int64_t>(calib.size()) < v.samples)
        return SplitError("validation.samples",
                          absl::StrCat("asks for ", v.samples, " samples but only ",
                                       validation_size - static_cast<int64_t>(calib.size()),
                                       " of the calibration dataset are not calibration samples"));
      for (int64_t i : quant::SampleIndices(validation_size, validation_size, v.seed)) {
        if (static_cast<int64_t>(s.validation_indices.size()) == v.samples) break;
        if (!std::binary_search(calib.begin(), calib.end(), i)) s.validation_indices.push_back(i);
      }
      s.validation_indices = Sorted(std::move(s.validation_indices));
      s.selection = absl::StrCat("validation: the first ", v.samples, " of a SplitMix64(", v.seed,
                                 ") Fisher-Yates shuffle of the calibration dataset that the job's calibration set ",
                                 "(", calib.size(), " samples, seed ", spec.seed, ") does not contain");
    } else {
      s.validation_indices = Sorted(quant::SampleIndices(validation_size, v.samples, v.seed));
      s.selection = absl::StrCat("validation: the first ", v.samples, " of a SplitMix64(", v.seed,
                                 ") Fisher-Yates shuffle of the validation dataset; test: every evaluated sample");
    }
  }
  s.test_indices_sha256 = quant::IndicesSha256(s.test_indices);
  if (!s.validation_indices.empty()) s.validation_indices_sha256 = quant::IndicesSha256(s.validation_indices);
  return s;
}

}  // namespace qbench
