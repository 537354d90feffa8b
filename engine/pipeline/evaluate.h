// The measurement passes a configuration goes through: accuracy over the evaluation
// set (with agreement and SQNR against the FP32 run), per-layer SQNR, and latency.
#pragma once

#include <functional>
#include <map>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/data/dataset.h"
#include "engine/measure/rapl.h"
#include "engine/pipeline/pipeline.h"
#include "engine/runtime/session.h"

namespace qbench {

// What the FP32 run leaves for the others to compare with.
struct Fp32Reference {
  std::vector<int> top1;         // per sample
  std::vector<uint8_t> correct;  // per sample: FP32's top-1 is the label
  std::vector<float> outputs;    // first model output, all samples, flattened
};

struct EvalOptions {
  int64_t samples = 0;     // evaluated: the first `samples` of `indices` (of the dataset when null)
  const std::vector<int64_t>* indices = nullptr;  // the dataset indices evaluated, in order
  int64_t batch = 64;
  bool fixed_batch = false;
  int loader_threads = 1;
  // Called after each batch with the samples done so far and the total; a non-OK status
  // (CANCELLED when the job is cancelled) stops the pass and is returned.
  std::function<absl::Status(int64_t done, int64_t total)> on_batch;
};

// Runs the model over the samples and scores them with strict top-k (measure/topk.h),
// counting tied top-1s. With `reference` null this is the FP32 run and it fills `record`;
// otherwise agreement, output SQNR and the paired top-1 comparison (measure/paired.h) are
// computed against it.
absl::StatusOr<AccuracyResult> EvaluateAccuracy(Session& session, const data::Dataset& ds, const EvalOptions& options,
                                                const Fp32Reference* reference, Fp32Reference* record);

// Scores a pass's outputs sample by sample, in order: what EvaluateAccuracy does with
// the engine's outputs, and what a device run (pipeline/devices.cc) does with a runner's.
class AccuracyScorer {
 public:
  AccuracyScorer(const data::Dataset& ds, const EvalOptions& options, const Fp32Reference* reference,
                 Fp32Reference* record);
  // Rows [0, n) of `scores` ({n, classes} float32) are evaluated samples first..first+n-1;
  // batches come in order and every batch has the same classes.
  absl::Status Add(const float* scores, int64_t n, int64_t classes, int64_t first);
  // After every sample was added.
  absl::StatusOr<AccuracyResult> Finish(double seconds);

 private:
  const data::Dataset& ds_;
  const EvalOptions& o_;
  const Fp32Reference* reference_;
  Fp32Reference* record_;
  AccuracyResult r_;
  int64_t scored_ = 0, classes_ = 0, agree_ = 0;
  double signal_ = 0, noise_ = 0;
};

// The dataset indices of the evaluated samples [first, first + n), padded to the batch
// for a fixed-batch model (padding rows are not scored).
std::vector<int64_t> EvalBatchIndices(const EvalOptions& options, int64_t first, int64_t n);

// A value of a configuration's graph as float: `to_float` maps value ids of the
// quantized session's graph to FP32 value ids and dequantizes integer tensors.
using ValueMapper = std::function<bool(int value_id, const Tensor& t, int* fp32_id, Tensor* as_float)>;

// SQNR of each value in `fp32_ids` (the layer outputs) between the FP32 session and
// `session` on the first `samples` evaluation samples.
absl::StatusOr<std::map<int, double>> LayerSqnr(Session& fp32, Session& session, const data::Dataset& ds,
                                                const EvalOptions& options, const std::vector<int>& fp32_ids,
                                                const ValueMapper& mapper);

// Single-stream latency at each batch size, in `spec.sessions` sessions (the caller's
// session, then fresh twins) with the batch sizes interleaved inside each. With `rapl`,
// the energy of the timed loops is read too; `idle_watts` (the host's idle draw,
// measured before) is subtracted over their duration. `on_step` (optional) is called
// before each (session, batch size) step with the steps done and the total; a non-OK
// status stops the measurement and is returned.
absl::StatusOr<std::vector<BatchLatency>> MeasureLatency(
    Session& session, const data::Dataset& ds, const std::vector<int64_t>& batch_sizes, const LatencySpec& spec,
    int loader_threads, const RaplMeter* rapl = nullptr, double idle_watts = 0,
    const std::function<absl::Status(int64_t done, int64_t total)>& on_step = nullptr,
    const std::function<absl::Status()>& poll = nullptr);

// `poll` (optional), in MeasureLatency and MeasureOffline: called about every
// kPollSeconds inside the timed and warm-up loops; a non-OK status (CANCELLED) stops them,
// so a long measurement is cancelled within a fraction of a second, not at its end.
inline constexpr double kPollSeconds = 0.25;

// The offline scenario: `spec.samples` distinct samples (cycling the dataset when it is
// smaller) are loaded first, then run in batches back to back, `spec.passes` times after
// one warm-up pass.
absl::StatusOr<OfflineResult> MeasureOffline(Session& session, const data::Dataset& ds, const OfflineSpec& spec,
                                             int loader_threads, const std::function<absl::Status()>& poll = nullptr);

}  // namespace qbench
