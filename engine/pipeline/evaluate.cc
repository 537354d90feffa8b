#include "engine/pipeline/evaluate.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/measure/topk.h"
#include "engine/quant/qparams.h"

namespace qbench {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// Dataset indices of a batch of the evaluated samples; a fixed-batch model gets its short
// last batch padded by repeating the last sample (padding rows are not scored).
std::vector<int64_t> BatchIndices(const EvalOptions& o, int64_t first, int64_t n) {
  std::vector<int64_t> idx(o.fixed_batch ? o.batch : n);
  for (size_t i = 0; i < idx.size(); ++i) {
    const int64_t k = std::min(first + static_cast<int64_t>(i), o.samples - 1);
    idx[i] = o.indices ? (*o.indices)[k] : k;
  }
  return idx;
}

// Calls `poll` when kPollSeconds have passed since the last call.
class Poller {
 public:
  explicit Poller(const std::function<absl::Status()>& poll) : poll_(poll), last_(Clock::now()) {}
  absl::Status Check() {
    if (!poll_) return absl::OkStatus();
    const auto now = Clock::now();
    if (Seconds(last_, now) < kPollSeconds) return absl::OkStatus();
    last_ = now;
    return poll_();
  }

 private:
  const std::function<absl::Status()>& poll_;
  Clock::time_point last_;
};

}  // namespace

AccuracyScorer::AccuracyScorer(const data::Dataset& ds, const EvalOptions& o, const Fp32Reference* reference,
                               Fp32Reference* record)
    : ds_(ds), o_(o), reference_(reference), record_(record) {
  r_.correct.reserve(o.samples);
  r_.predicted.reserve(o.samples);
}

absl::Status AccuracyScorer::Add(const float* s, int64_t n, int64_t classes, int64_t first) {
  if (classes <= 0) return absl::InvalidArgumentError("the model's output has no classes");
  if (first != scored_ || first + n > o_.samples) return absl::InternalError("samples scored out of order");
  if (classes_ == 0) classes_ = classes;
  if (classes != classes_)
    return absl::InvalidArgumentError(absl::StrCat("the model's output has ", classes, " classes in one batch and ",
                                                   classes_, " in another"));
  if (reference_ && (static_cast<int64_t>(reference_->outputs.size()) < (first + n) * classes ||
                     static_cast<int64_t>(reference_->top1.size()) < first + n))
    return absl::InternalError("the FP32 reference outputs do not match this model's output size");
  if (o_.indices && static_cast<int64_t>(o_.indices->size()) < first + n)
    return absl::InternalError("fewer evaluation indices than evaluated samples");
  for (int64_t i = 0; i < n; ++i) {
    const float* row = s + i * classes;
    const int best = static_cast<int>(TopClass(row, classes));
    r_.tied_top1 += TopIsTied(row, classes);
    const int64_t sample = first + i;
    if (record_) {
      record_->top1.push_back(best);
      record_->outputs.insert(record_->outputs.end(), row, row + classes);
    }
    if (reference_) {
      agree_ += reference_->top1[sample] == best;
      const float* ref = reference_->outputs.data() + sample * classes;
      for (int64_t c = 0; c < classes; ++c) {
        signal_ += static_cast<double>(ref[c]) * ref[c];
        noise_ += (static_cast<double>(ref[c]) - row[c]) * (static_cast<double>(ref[c]) - row[c]);
      }
    }
    const int label = ds_.label(o_.indices ? (*o_.indices)[sample] : sample);
    // An unlabelled sample (label outside the classes) is scored as a miss.
    const int64_t rank = label >= 0 && label < classes ? LabelRank(row, classes, label) : classes;
    r_.top1_hits += rank < 1;
    r_.top5_hits += rank < 5;
    r_.correct.push_back(rank < 1);
    r_.predicted.push_back(best);
  }
  scored_ += n;
  return absl::OkStatus();
}

absl::StatusOr<AccuracyResult> AccuracyScorer::Finish(double seconds) {
  if (scored_ != o_.samples)
    return absl::InternalError(absl::StrCat(scored_, " of ", o_.samples, " samples were scored"));
  AccuracyResult r = std::move(r_);
  r.seconds = seconds;
  r.samples = o_.samples;
  r.top1 = static_cast<double>(r.top1_hits) / o_.samples;
  r.top5 = static_cast<double>(r.top5_hits) / o_.samples;
  r.agreement = reference_ ? static_cast<double>(agree_) / o_.samples : 1.0;
  if (reference_) r.vs_fp32 = ComparePaired(reference_->correct, r.correct);
  if (record_) record_->correct = r.correct;
  r.output_sqnr_db = !reference_ ? INFINITY : noise_ == 0 ? INFINITY : 10 * std::log10(signal_ / noise_);
  return r;
}

std::vector<int64_t> EvalBatchIndices(const EvalOptions& o, int64_t first, int64_t n) { return BatchIndices(o, first, n); }

absl::StatusOr<AccuracyResult> EvaluateAccuracy(Session& session, const data::Dataset& ds, const EvalOptions& o,
                                                const Fp32Reference* reference, Fp32Reference* record) {
  if (reference && static_cast<int64_t>(reference->top1.size()) < o.samples)
    return absl::InternalError("the FP32 reference run does not cover the evaluated samples");
  if (o.indices && static_cast<int64_t>(o.indices->size()) < o.samples)
    return absl::InternalError("fewer evaluation indices than evaluated samples");
  AccuracyScorer scorer(ds, o, reference, record);
  const auto t0 = Clock::now();
  for (int64_t first = 0; first < o.samples; first += o.batch) {
    const int64_t n = std::min(o.batch, o.samples - first);
    QB_ASSIGN_OR_RETURN(Tensor batch, data::LoadBatch(ds, BatchIndices(o, first, n), o.loader_threads));
    if (o.on_batch && first > 0) QB_RETURN_IF_ERROR(o.on_batch(first, o.samples));
    QB_ASSIGN_OR_RETURN(std::vector<Tensor> out, session.Run({batch}));
    const Tensor& scores = out[0];
    if (scores.dtype() != DType::kF32 || scores.rank() < 1)
      return absl::InvalidArgumentError("the model's first output is not a float32 score tensor");
    QB_RETURN_IF_ERROR(scorer.Add(scores.data<float>(), n, scores.num_elements() / scores.dim(0), first));
  }
  return scorer.Finish(Seconds(t0, Clock::now()));
}

absl::StatusOr<std::map<int, double>> LayerSqnr(Session& fp32, Session& session, const data::Dataset& ds,
                                                const EvalOptions& o, const std::vector<int>& fp32_ids,
                                                const ValueMapper& mapper) {
  std::map<int, double> signal, noise;
  for (int id : fp32_ids) signal[id] = noise[id] = 0;
  for (int64_t first = 0; first < o.samples; first += o.batch) {
    const int64_t n = std::min(o.batch, o.samples - first);
    QB_ASSIGN_OR_RETURN(Tensor batch, data::LoadBatch(ds, BatchIndices(o, first, n), o.loader_threads));
    std::map<int, Tensor> ref;
    ValueObserver keep = [&](int v, const Tensor& t) -> absl::Status {
      if (signal.count(v)) ref[v] = t.Clone();
      return absl::OkStatus();
    };
    if (o.on_batch && first > 0) QB_RETURN_IF_ERROR(o.on_batch(first, o.samples));
    QB_RETURN_IF_ERROR(fp32.Run({batch}, &keep).status());
    ValueObserver compare = [&](int v, const Tensor& t) -> absl::Status {
      int id = -1;
      Tensor f;
      if (!mapper(v, t, &id, &f) || !ref.count(id)) return absl::OkStatus();
      const Tensor& r = ref[id];
      if (r.num_elements() != f.num_elements()) return absl::OkStatus();
      const float* a = r.data<float>();
      const float* b = f.data<float>();
      for (int64_t i = 0; i < r.num_elements(); ++i) {
        signal[id] += static_cast<double>(a[i]) * a[i];
        noise[id] += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
      }
      ref.erase(id);  // counted once per batch
      return absl::OkStatus();
    };
    QB_RETURN_IF_ERROR(session.Run({batch}, &compare).status());
  }
  std::map<int, double> out;
  for (int id : fp32_ids)
    out[id] = noise[id] == 0 ? INFINITY : 10 * std::log10(signal[id] / noise[id]);
  return out;
}

absl::StatusOr<std::vector<BatchLatency>> MeasureLatency(Session& session, const data::Dataset& ds,
                                                         const std::vector<int64_t>& batch_sizes,
                                                         const LatencySpec& spec, int loader_threads,
                                                         const RaplMeter* rapl, double idle_watts,
                                                         const std::function<absl::Status(int64_t, int64_t)>& on_step,
                                                         const std::function<absl::Status()>& poll) {
  const size_t sizes = batch_sizes.size();
  Poller poller(poll);
  std::vector<Tensor> batches;
  for (int64_t bs : batch_sizes) {
    std::vector<int64_t> idx(bs);
    for (int64_t i = 0; i < bs; ++i) idx[i] = i % ds.size();
    QB_ASSIGN_OR_RETURN(Tensor batch, data::LoadBatch(ds, idx, loader_threads));
    batches.push_back(std::move(batch));
  }
  // Each session gets an equal share of the query counts (the remainder to the first
  // ones), of min_seconds and of warmup_seconds; every session needs one query, so
  // there are at most min_iters of them.
  const int64_t k = std::clamp<int64_t>(spec.min_iters, 1, std::max(1, spec.sessions));
  const auto share = [k](int64_t total, int64_t i) { return total / k + (i < total % k ? 1 : 0); };
  const double min_seconds = spec.min_seconds / static_cast<double>(k);
  const double warmup_seconds = spec.warmup_seconds / static_cast<double>(k);
  std::vector<std::vector<std::vector<double>>> ms(sizes, std::vector<std::vector<double>>(k));
  std::vector<double> joules(sizes, 0), timed_seconds(sizes, 0);
  // Sessions outermost, batch sizes inside: each batch size's sessions are spread over
  // the whole measurement rather than back to back, so slow drift reaches its interval.
  for (int64_t round = 0; round < k; ++round) {
    // Session 0 is the caller's; the others are twins built now and dropped after.
    std::unique_ptr<Session> twin = round == 0 ? nullptr : session.Twin();
    Session& s = twin ? *twin : session;
    for (size_t b = 0; b < sizes; ++b) {
      if (on_step) QB_RETURN_IF_ERROR(on_step(round * sizes + b, k * sizes));
      const Tensor& batch = batches[b];
      QB_RETURN_IF_ERROR(s.Prepare({batch.shape()}));
      const auto w0 = Clock::now();
      for (int64_t i = 0; i < spec.warmup_iters || Seconds(w0, Clock::now()) < warmup_seconds; ++i) {
        QB_RETURN_IF_ERROR(s.Run({batch}).status());
        QB_RETURN_IF_ERROR(poller.Check());
      }
      std::vector<uint64_t> e0;
      if (rapl) {
        QB_ASSIGN_OR_RETURN(e0, rapl->Read());
      }
      std::vector<double>& out = ms[b][round];
      const int64_t min_iters = share(spec.min_iters, round);
      const int64_t max_iters = std::max(min_iters, share(spec.max_iters, round));
      const auto m0 = Clock::now();
      while (static_cast<int64_t>(out.size()) < max_iters &&
             (static_cast<int64_t>(out.size()) < min_iters || Seconds(m0, Clock::now()) < min_seconds)) {
        const auto a = Clock::now();
        QB_RETURN_IF_ERROR(s.Run({batch}).status());
        out.push_back(Seconds(a, Clock::now()) * 1e3);
        QB_RETURN_IF_ERROR(poller.Check());  // outside the timed span
      }
      timed_seconds[b] += Seconds(m0, Clock::now());
      if (rapl) {
        QB_ASSIGN_OR_RETURN(std::vector<uint64_t> e1, rapl->Read());
        for (double j : rapl->Joules(e0, e1)) joules[b] += j;
      }
    }
  }
  std::vector<BatchLatency> result(sizes);
  for (size_t b = 0; b < sizes; ++b) {
    BatchLatency& bl = result[b];
    bl.batch_size = batch_sizes[b];
    bl.stats = SummarizeSessions(ms[b]);
    QB_ASSIGN_OR_RETURN(bl.split, session.Split({batches[b].shape()}));
    if (rapl) {
      const double net = std::max(0.0, joules[b] - idle_watts * timed_seconds[b]);
      bl.measured_joules_per_sample = net / static_cast<double>(bl.stats.count * bl.batch_size);
    }
    bl.throughput_per_s = bl.stats.median_ms > 0 ? bl.batch_size * 1e3 / bl.stats.median_ms : 0;
  }
  return result;
}

absl::StatusOr<OfflineResult> MeasureOffline(Session& session, const data::Dataset& ds, const OfflineSpec& spec,
                                             int loader_threads, const std::function<absl::Status()>& poll) {
  Poller poller(poll);
  OfflineResult r;
  r.batch_size = spec.batch_size;
  const int64_t batches = spec.samples / spec.batch_size;  // whole batches only
  r.samples = batches * spec.batch_size;
  std::vector<Tensor> inputs;
  for (int64_t b = 0; b < batches; ++b) {
    std::vector<int64_t> idx(spec.batch_size);
    for (int64_t i = 0; i < spec.batch_size; ++i) idx[i] = (b * spec.batch_size + i) % ds.size();
    QB_ASSIGN_OR_RETURN(Tensor batch, data::LoadBatch(ds, idx, loader_threads));
    inputs.push_back(std::move(batch));
    QB_RETURN_IF_ERROR(poller.Check());
  }
  QB_RETURN_IF_ERROR(session.Prepare({inputs[0].shape()}));
  for (int pass = -1; pass < spec.passes; ++pass) {  // pass -1 warms caches and kernels
    const auto t0 = Clock::now();
    for (const Tensor& batch : inputs) {
      QB_RETURN_IF_ERROR(session.Run({batch}).status());
      // A pass is timed whole; a cancelled one is not reported, so polling inside is safe.
      QB_RETURN_IF_ERROR(poller.Check());
    }
    const double s = Seconds(t0, Clock::now());
    if (pass >= 0) r.pass_throughput.push_back(s > 0 ? r.samples / s : 0);
  }
  std::vector<double> sorted = r.pass_throughput;
  std::sort(sorted.begin(), sorted.end());
  r.median_throughput = sorted[sorted.size() / 2];
  return r;
}

}  // namespace qbench
