// Which samples a job's figures come from. The figures users read (accuracy, deltas,
// intervals) come from test samples; anything chosen by accuracy (the best calibration
// method, a mixed-precision search) is chosen on validation samples that the test
// figures never include, so a reported accuracy is never the one that was optimized.
//
//   no "validation":           every evaluated sample is a test sample (mode "all");
//   "validation": {"samples": k, "seed": s} (or "fraction": f, k = round(f * N)):
//                              the first k entries of the SplitMix64 Fisher-Yates shuffle
//                              of the N evaluated samples (quant/sampler.h) are validation
//                              samples, the other N - k the test samples (mode "holdout");
//   "validation": {"dataset": "val.json", "samples": k, "seed": s}:
//                              k samples of that dataset, the first k of its seeded
//                              shuffle that calibration did not use when it is the
//                              calibration dataset (mode "dataset"). A validation dataset
//                              that is the evaluation dataset itself is a holdout split.
// Both index lists are kept in ascending order and named by their SHA-256 in the result.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "spec/job_spec.h"
#include "engine/pipeline/pipeline.h"

namespace qbench {

// True when two dataset manifests name the same data: the same file after resolving
// links, or manifests with identical bytes (the service materializes equal uploads in one
// place, but two copies of one manifest also count).
bool SameDataset(const std::string& manifest_a, const std::string& manifest_b);

// The split of `eval_total` evaluated samples. `validation_size` is the size of the
// validation dataset (mode "dataset"; ignored otherwise). INVALID_ARGUMENT names the
// field when the split leaves no test sample or asks for more samples than there are.
absl::StatusOr<EvaluationSplit> MakeEvaluationSplit(const JobSpec& spec, int64_t eval_total,
                                                    int64_t validation_size);

// How many of `indices` are in `sorted` (ascending).
int64_t CountIn(const std::vector<int64_t>& indices, const std::vector<int64_t>& sorted);

}  // namespace qbench
