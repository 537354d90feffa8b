// The search job (issue 14): measures the per-layer signals, lets each strategy ask for
// the candidates it wants (search/strategies.h), keeps every candidate with its figures,
// marks the Pareto front, and measures the chosen configurations in full on the test
// split. The strategies decide; this file only measures.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status.h"
#include "engine/kernels/onednn/int8_util.h"
#include "engine/pipeline/energy.h"
#include "engine/pipeline/job_context.h"
#include "engine/quant/quantize_graph.h"

namespace qbench::pipeline_internal {
namespace {

using Clock = std::chrono::steady_clock;
using search::Assignment;
using search::Candidate;
using search::Choice;

// What every candidate of one search is built from and compared with.
struct Setup {
  const search::SearchSpec* spec = nullptr;
  std::vector<Choice> choices;
  int fp32 = -1;                    // the fp32 choice's index
  std::vector<std::string> layers;  // searched Conv/Gemm nodes of the base graph
  Session* base = nullptr;
  const quant::CalibrationData* cal = nullptr;
  const quant::HessianSet* hessians = nullptr;  // when a choice rounds by a Hessian method
  int64_t batch = 64;
  // FP32's figures: what the objective divides by.
  double fp32_ms = 0, fp32_bytes = 0, fp32_joules = 0;
};

// The integer configuration of an assignment: the base with one override per layer.
quant::QuantConfig ConfigFor(const Setup& s, const Assignment& a, const std::string& name) {
  quant::QuantConfig c = s.spec->base;
  c.name = name;
  for (size_t l = 0; l < a.size(); ++l) {
    const Choice& ch = s.choices[a[l]];
    quant::LayerOverride o;
    o.node = s.layers[l];
    o.fp32 = ch.kind != Choice::Kind::kInt;
    o.bf16 = ch.kind == Choice::Kind::kBf16;
    if (ch.kind == Choice::Kind::kInt) {
      o.weight_bits = ch.weight_bits;
      o.activation_bits = ch.activation_bits;
      o.rounding = ch.rounding;
    }
    c.overrides.push_back(o);
  }
  return c;
}

double Objective(const Setup& s, double ms, double bytes, double joules) {
  const search::Objective& o = s.spec->objective;
  return o.latency * ms / s.fp32_ms + o.size * bytes / s.fp32_bytes + o.energy * joules / s.fp32_joules;
}

// A built candidate model with what its quantization reported.
struct Built {
  std::unique_ptr<Session> session;
  std::vector<quant::LayerReport> layers;
  int64_t bytes = 0;
};

absl::StatusOr<Built> Build(JobContext& ctx, const Setup& s, const Assignment& a) {
  QB_ASSIGN_OR_RETURN(quant::QuantizedModel qm, quant::QuantizeGraph(s.base->graph(), ConfigFor(s, a, "search"),
                                                                     s.cal->histograms, &s.cal->channel_means,
                                                                     s.hessians));
  Built b;
  b.layers = qm.layers;
  b.bytes = qm.packed_bytes;
  QB_ASSIGN_OR_RETURN(b.session, Session::Create(std::move(qm.graph), ctx.options));
  return b;
}

// Measures candidates on the validation split, once per assignment: a repeated one is
// answered from memory, one an earlier attempt stored from the hooks.
class Measurer : public search::Evaluator {
 public:
  Measurer(JobContext& ctx, Setup& s, Clock::time_point deadline) : ctx_(ctx), s_(s), deadline_(deadline) {}

  absl::StatusOr<Candidate> Evaluate(const Assignment& a, const std::string& strategy) override {
    return Measure(a, strategy, /*timed=*/true, /*counted=*/true);
  }
  int64_t evaluations() const override { return counted_; }

  // `timed`: with the quick latency (strategies and uniform models; signals go without);
  // `counted`: against the evaluation budget (strategies only).
  absl::StatusOr<Candidate> Measure(const Assignment& a, const std::string& strategy, bool timed, bool counted) {
    const std::string key = search::AssignmentKey(a);
    if (auto it = index_.find(key); it != index_.end() && (!timed || candidates_[it->second].timed))
      return candidates_[it->second];
    if (ctx_.hooks && ctx_.hooks->stored_candidate) {
      std::optional<Candidate> c = ctx_.hooks->stored_candidate(key);
      if (c && c->assignment == a && (!timed || c->timed)) {
        // Judged again by this attempt's budget and FP32 figures.
        c->reused = true;
        c->within_budget = search::WithinBudget(*s_.spec, c->drop_points, c->ci_low);
        if (c->timed && s_.fp32_ms > 0) c->objective = Objective(s_, c->latency_ms, c->bytes, c->energy_joules);
        ++reused_;
        return Keep(*std::move(c));
      }
    }
    if (counted && counted_ >= s_.spec->max_evaluations) return absl::OutOfRangeError("the evaluation budget is spent");
    if (Clock::now() > deadline_) return absl::OutOfRangeError("the search's minutes are spent");
    QB_RETURN_IF_ERROR(ctx_.CheckCancelled());
    const auto t0 = Clock::now();
    Candidate c;
    c.key = key;
    c.strategy = strategy;
    c.assignment = a;
    QB_ASSIGN_OR_RETURN(Built b, Build(ctx_, s_, a));
    QB_ASSIGN_OR_RETURN(AccuracyResult acc,
                        EvaluateAccuracy(*b.session, *ctx_.val, ctx_.val_options, &ctx_.val_reference, nullptr));
    c.samples = acc.samples;
    c.top1 = acc.top1;
    c.output_sqnr_db = acc.output_sqnr_db;
    if (acc.vs_fp32) {
      c.drop_points = -100 * acc.vs_fp32->delta;
      c.ci_low = 100 * acc.vs_fp32->ci_low;
      c.ci_high = 100 * acc.vs_fp32->ci_high;
    }
    c.bytes = b.bytes;
    c.energy_joules = ModelEnergy(CountOps(b.session->graph(), b.bytes)).total();
    if (timed) {
      LatencySpec l;
      l.warmup_iters = s_.spec->latency.warmup_iters;
      l.warmup_seconds = 0;
      l.min_iters = s_.spec->latency.min_iters;
      l.min_seconds = s_.spec->latency.min_seconds;
      l.max_iters = std::max<int64_t>(l.min_iters, 100000);
      l.sessions = 1;
      QB_ASSIGN_OR_RETURN(std::vector<BatchLatency> lat,
                          MeasureLatency(*b.session, *ctx_.eval, {s_.batch}, l, ctx_.loader_threads, nullptr, 0,
                                         nullptr, ctx_.Poll()));
      c.timed = true;
      c.batch = s_.batch;
      c.latency_ms = lat[0].stats.median_ms;
      c.latency_ci_low = lat[0].stats.median_ci_low_ms;
      c.latency_ci_high = lat[0].stats.median_ci_high_ms;
      if (s_.fp32_ms > 0) c.objective = Objective(s_, c.latency_ms, c.bytes, c.energy_joules);
    }
    c.within_budget = search::WithinBudget(*s_.spec, c.drop_points, c.ci_low);
    c.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (counted) ++counted_;
    else ++uncounted_;
    // Progress first: the candidate's event then reads a count that includes it.
    ctx_.Progress(RunStage::kEvaluating, counted_ + uncounted_, expected_);
    if (ctx_.hooks && ctx_.hooks->candidate_done) ctx_.hooks->candidate_done(c, s_.choices);
    return Keep(std::move(c));
  }

  // The objective of the candidates measured before FP32's figures were known.
  void Rescore() {
    for (Candidate& c : candidates_)
      if (c.timed) c.objective = Objective(s_, c.latency_ms, c.bytes, c.energy_joules);
  }
  void set_expected(int64_t n) { expected_ = n; }
  std::vector<Candidate>& candidates() { return candidates_; }
  int64_t uncounted() const { return uncounted_; }
  int64_t reused() const { return reused_; }

 private:
  Candidate Keep(Candidate c) {
    auto it = index_.find(c.key);
    if (it != index_.end()) {  // a signal measured again with its latency
      c.id = candidates_[it->second].id;
      candidates_[it->second] = c;
      return c;
    }
    c.id = static_cast<int64_t>(candidates_.size());
    index_[c.key] = candidates_.size();
    candidates_.push_back(c);
    return c;
  }

  JobContext& ctx_;
  Setup& s_;
  Clock::time_point deadline_;
  std::vector<Candidate> candidates_;
  std::map<std::string, size_t> index_;
  int64_t counted_ = 0, uncounted_ = 0, reused_ = 0, expected_ = 0;
};

// MACs per sample of a Conv/Gemm (as CountOps counts them).
int64_t Macs(const Graph& g, const Node& n) {
  const Tensor* w = &*g.values[n.inputs[1]].constant;
  const Value& out = g.values[n.outputs[0]];
  if (n.op_type != "Conv") return w->num_elements();
  int64_t per_sample = 1;
  for (size_t d = 1; d < out.shape.size(); ++d) per_sample *= std::max<int64_t>(1, out.shape[d]);
  return per_sample * (w->num_elements() / w->dim(0));
}

// Choices whose layer ran the same primitive (same kind, same oneDNN implementation):
// W2 to W8 weights are all stored as s8 for the int8 kernels, so their step times differ
// by timing noise only, and a search that read the noise as a saving would lower layers
// to W4 "for speed". Each such group gets one latency, the mean of its measurements.
void PoolSameKernelLatency(const std::vector<Choice>& choices, const std::vector<std::vector<std::string>>& kernel,
                           std::vector<search::LayerSignals>* layers) {
  for (size_t l = 0; l < layers->size(); ++l) {
    search::LayerSignals& sig = (*layers)[l];
    std::map<std::pair<int, std::string>, std::vector<size_t>> groups;
    for (size_t c = 0; c < choices.size(); ++c)
      groups[{static_cast<int>(choices[c].kind), kernel[c][l]}].push_back(c);
    for (const auto& [signature, members] : groups) {
      if (members.size() < 2 || signature.second.empty()) continue;
      double sum = 0;
      for (size_t c : members) sum += sig.latency_ms[c];
      for (size_t c : members) sig.latency_ms[c] = sum / static_cast<double>(members.size());
    }
  }
}

// Each layer's figures at each choice: step times from profiling the model with every
// layer at the choice (pooled over choices that run the same kernel), weight bytes,
// modeled energy and the weights' entropy.
absl::Status Costs(JobContext& ctx, const Setup& s, std::vector<search::LayerSignals>* layers, double* share) {
  const Graph& g = s.base->graph();
  std::vector<int64_t> idx(s.batch);
  for (int64_t i = 0; i < s.batch; ++i) idx[i] = i % ctx.eval->size();
  QB_ASSIGN_OR_RETURN(Tensor batch, data::LoadBatch(*ctx.eval, idx, ctx.loader_threads));
  const int iters = std::max(5, std::min(ctx.spec.profile_iters, 20));
  const size_t nc = s.choices.size();
  for (search::LayerSignals& l : *layers) {
    l.latency_ms.assign(nc, 0);
    l.bytes.assign(nc, 0);
    l.energy_joules.assign(nc, 0);
    l.entropy_bits.assign(nc, 0);
  }
  double fp32_total = 0, fp32_layers = 0;
  // kernel[c][l]: the implementation layer l's step ran at choice c ("" when unseen).
  std::vector<std::vector<std::string>> kernel(nc, std::vector<std::string>(s.layers.size()));
  for (size_t c = 0; c < nc; ++c) {
    QB_RETURN_IF_ERROR(ctx.CheckCancelled());
    const Choice& ch = s.choices[c];
    QB_ASSIGN_OR_RETURN(Built b, Build(ctx, s, Assignment(s.layers.size(), static_cast<int>(c))));
    QB_ASSIGN_OR_RETURN(std::vector<StepTiming> steps, b.session->Profile({batch}, iters));
    std::map<std::string, double> ms;
    std::map<std::string, std::string> impl;
    double total = 0;
    for (const StepTiming& t : steps) {
      ms[t.info.node] += t.median_ms;
      total += t.median_ms;
      if (t.info.op_type != "Reorder")
        impl[t.info.node] = absl::StrCat(t.info.implementation, t.info.integer ? " int" : " float");
    }
    for (size_t l = 0; l < s.layers.size(); ++l) {
      search::LayerSignals& sig = (*layers)[l];
      sig.latency_ms[c] = ms[s.layers[l]];
      kernel[c][l] = impl[s.layers[l]];
      for (const quant::LayerReport& rep : b.layers)
        if (rep.node == s.layers[l] && rep.quantized) sig.entropy_bits[c] = rep.weight_entropy_bits;
      // Stored weights at the choice's width, plus (for integer ones) a 4-byte scale and
      // a zero point per output channel; the bias stays float32.
      const Node* n = nullptr;
      for (const Node& x : g.nodes)
        if (x.name == s.layers[l]) n = &x;
      const int64_t oc = g.values[n->outputs[0]].shape.size() > 1 ? g.values[n->outputs[0]].shape[1] : 1;
      const double wbytes = sig.weights * ch.stored_bits() / 8.0 +
                            (ch.kind == Choice::Kind::kInt ? 5.0 * oc : 0) + 4.0 * oc;
      sig.bytes[c] = wbytes;
      OpCounts ops;
      const int64_t macs = Macs(g, *n);
      (ch.kind == Choice::Kind::kInt ? ops.macs_int8 : ch.kind == Choice::Kind::kBf16 ? ops.macs_bf16 : ops.macs_fp32) =
          macs;
      ops.weight_bytes = static_cast<int64_t>(wbytes);
      sig.energy_joules[c] = ModelEnergy(ops).total();
      if (static_cast<int>(c) == s.fp32) fp32_layers += sig.latency_ms[c];
    }
    if (static_cast<int>(c) == s.fp32) fp32_total = total;
  }
  PoolSameKernelLatency(s.choices, kernel, layers);
  *share = fp32_total > 0 ? fp32_layers / fp32_total : 0;
  // The objective's per-layer cost: each figure over FP32's model total.
  double fp32_bytes = 0, fp32_joules = 0;
  for (const search::LayerSignals& l : *layers) {
    fp32_bytes += l.bytes[s.fp32];
    fp32_joules += l.energy_joules[s.fp32];
  }
  const search::Objective& o = s.spec->objective;
  for (search::LayerSignals& l : *layers) {
    l.cost.assign(nc, 0);
    for (size_t c = 0; c < nc; ++c)
      l.cost[c] = (fp32_total > 0 ? o.latency * l.latency_ms[c] / fp32_total : 0) +
                  (fp32_bytes > 0 ? o.size * l.bytes[c] / fp32_bytes : 0) +
                  (fp32_joules > 0 ? o.energy * l.energy_joules[c] / fp32_joules : 0);
  }
  return absl::OkStatus();
}

// The 8-bit grid's entropy of every layer's weights (EAGL's measure for a float layer).
absl::Status Entropy8(const Setup& s, std::vector<search::LayerSignals>* layers) {
  quant::QuantConfig c = s.spec->base;
  c.weights.bits = std::min(8, Int8ExactWeightBits());
  c.rounding = {};
  QB_ASSIGN_OR_RETURN(quant::QuantizedModel qm,
                      quant::QuantizeGraph(s.base->graph(), c, s.cal->histograms, &s.cal->channel_means));
  for (search::LayerSignals& l : *layers)
    for (const quant::LayerReport& rep : qm.layers)
      if (rep.node == l.node) l.entropy8_bits = rep.weight_entropy_bits;
  return absl::OkStatus();
}

// Isolated sensitivity: each layer alone at each choice, the rest FP32.
absl::Status Isolated(const Setup& s, Measurer& m, std::vector<search::LayerSignals>* layers) {
  const size_t nc = s.choices.size();
  for (size_t l = 0; l < layers->size(); ++l) {
    search::LayerSignals& sig = (*layers)[l];
    sig.isolated_drop.assign(nc, 0);
    sig.isolated_sqnr_db.assign(nc, INFINITY);
    for (size_t c = 0; c < nc; ++c) {
      if (static_cast<int>(c) == s.fp32) continue;
      Assignment a(layers->size(), s.fp32);
      a[l] = static_cast<int>(c);
      QB_ASSIGN_OR_RETURN(Candidate cand, m.Measure(a, "signal", false, false));
      sig.isolated_drop[c] = cand.drop_points;
      sig.isolated_sqnr_db[c] = cand.output_sqnr_db;
    }
  }
  return absl::OkStatus();
}

// The choices this worker can run, fp32 among them (the signals and descents start there).
std::vector<Choice> Runnable(const search::SearchSpec& spec, SearchResult* r) {
  std::vector<Choice> out;
  const int bits = Int8ExactWeightBits();
  for (Choice c : spec.choices) {
    if (c.kind == Choice::Kind::kBf16 && !HasBf16()) {
      r->notes.push_back("choice bf16 dropped: this CPU has no native bfloat16 (oneDNN ISA below avx512_core_bf16)");
      continue;
    }
    if (c.kind == Choice::Kind::kInt && c.weight_bits > bits) {
      r->notes.push_back(absl::StrCat("choice ", c.name, " runs with ", bits,
                                      "-bit weights: this CPU's int8 kernels are exact only up to ", bits));
      c.weight_bits = bits;
    }
    bool dup = false;
    for (const Choice& o : out) dup |= o.kind == c.kind && o.weight_bits == c.weight_bits &&
                                       o.activation_bits == c.activation_bits && o.rounding == c.rounding;
    if (!dup) out.push_back(c);
  }
  if (std::none_of(out.begin(), out.end(), [](const Choice& c) { return c.kind == Choice::Kind::kFp32; })) {
    out.insert(out.begin(), *search::ParseChoice("fp32", "search.choices"));
    r->notes.push_back("fp32 added to the choices: the isolated signals and the descents start from it");
  }
  return out;
}

void Correlate(const Setup& s, SearchResult* r) {
  for (size_t c = 0; c < s.choices.size(); ++c) {
    if (s.choices[c].kind != Choice::Kind::kInt) continue;
    std::vector<double> drop, h, noise;
    for (const search::LayerSignals& l : r->layers) {
      drop.push_back(l.isolated_drop[c]);
      h.push_back(l.entropy8_bits);
      noise.push_back(std::isfinite(l.isolated_sqnr_db[c]) ? -l.isolated_sqnr_db[c] : -1e9);
    }
    r->correlations.push_back(
        {s.choices[c].name, static_cast<int>(drop.size()), search::Spearman(h, drop), search::Spearman(noise, drop)});
  }
}

// Measures a chosen candidate in full (test split, the job's latency method, export) as
// a configuration of the job.
absl::Status MeasureChosen(JobContext& ctx, const Setup& s, const Candidate& c, const std::string& name,
                           JobResult* r) {
  ConfigResult cr;
  cr.config = ConfigFor(s, c.assignment, name);
  ctx.config = name;
  absl::Status st = RunInt(ctx, &cr);
  if (absl::IsCancelled(st)) return st;
  if (!st.ok()) cr.error = std::string(st.message());
  cr.notes.push_back(absl::StrCat("search candidate ", c.id, " (", c.strategy, "): validation drop ",
                                  absl::StrFormat("%.2f", c.drop_points), " points [", absl::StrFormat("%.2f", -c.ci_high),
                                  ", ", absl::StrFormat("%.2f", -c.ci_low), "]"));
  if (ctx.hooks && ctx.hooks->config_done) ctx.hooks->config_done(cr);
  r->configs.push_back(std::move(cr));
  return absl::OkStatus();
}

}  // namespace

absl::Status RunSearch(JobContext& ctx, JobResult* job) {
  const search::SearchSpec& spec = ctx.spec.search;
  const auto t0 = Clock::now();
  SearchResult r;
  r.spec = spec;
  r.batch = 0;
  if (!ctx.val) return absl::FailedPreconditionError("search: no validation samples (the split is empty)");
  Setup s;
  s.spec = &spec;
  s.choices = Runnable(spec, &r);
  r.choices = s.choices;
  for (size_t c = 0; c < s.choices.size(); ++c)
    if (s.choices[c].kind == Choice::Kind::kFp32) s.fp32 = static_cast<int>(c);
  ctx.config = kSearchBestConfig;  // the progress of the search is that of its result
  QB_ASSIGN_OR_RETURN(s.base, BaseSession(ctx, spec.base));
  QB_ASSIGN_OR_RETURN(s.cal, CalibrationFor(ctx, spec.base));
  bool hessian = quant::RoundingOf(spec.base.rounding.method).needs_hessian;
  for (const Choice& c : s.choices) hessian |= c.rounding && quant::RoundingOf(*c.rounding).needs_hessian;
  if (hessian) {
    QB_ASSIGN_OR_RETURN(s.hessians, HessiansFor(ctx, spec.base, *s.cal));
  }
  const Shape declared = s.base->input_shape(0);
  s.batch = ctx.eval_options.fixed_batch ? declared[0] : spec.batch_size;
  r.batch = s.batch;
  if (s.batch != spec.batch_size)
    r.notes.push_back(absl::StrCat("latency at batch ", s.batch, ": the model's batch is fixed"));

  // The searched layers: every Conv/Gemm the base configuration quantizes.
  {
    QB_ASSIGN_OR_RETURN(quant::QuantizedModel qm,
                        quant::QuantizeGraph(s.base->graph(), spec.base, s.cal->histograms, &s.cal->channel_means));
    for (const quant::LayerReport& l : qm.layers) {
      if (!l.quantized) continue;
      s.layers.push_back(l.node);
      search::LayerSignals sig;
      sig.node = l.node;
      sig.op_type = l.op_type;
      sig.weights = l.weight_elements;
      r.layers.push_back(sig);
    }
  }
  if (s.layers.empty()) return absl::FailedPreconditionError("search: the model has no Conv or Gemm layer to quantize");

  Measurer m(ctx, s, t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(spec.max_minutes * 60)));
  m.set_expected(static_cast<int64_t>(s.choices.size() * (s.layers.size() + 1)) + spec.max_evaluations);
  // Signals: every layer at each choice (also the uniform candidates), then each layer alone.
  auto signals = [&]() -> absl::Status {
    for (size_t c = 0; c < s.choices.size(); ++c) {
      QB_ASSIGN_OR_RETURN(Candidate u, m.Measure(Assignment(s.layers.size(), static_cast<int>(c)), "uniform", true, false));
      if (static_cast<int>(c) == s.fp32) {
        s.fp32_ms = u.latency_ms;
        s.fp32_bytes = static_cast<double>(u.bytes);
        s.fp32_joules = u.energy_joules;
      }
    }
    m.Rescore();
    QB_RETURN_IF_ERROR(Costs(ctx, s, &r.layers, &r.attributed_share));
    QB_RETURN_IF_ERROR(Entropy8(s, &r.layers));
    return Isolated(s, m, &r.layers);
  };
  if (absl::Status st = signals(); !st.ok()) {
    if (!absl::IsOutOfRange(st)) return st;
    return absl::ResourceExhaustedError(absl::StrCat("search: ", st.message(), " before the per-layer signals were "
                                                     "measured; give it more minutes"));
  }
  r.signal_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  Correlate(s, &r);

  search::Problem p;
  p.choices = s.choices;
  p.layers = r.layers;
  p.max_drop = spec.max_drop;
  p.fallback_to = s.fp32;
  for (size_t c = 0; c < s.choices.size(); ++c)  // the widest integer choice
    if (s.choices[c].kind == Choice::Kind::kInt &&
        (p.fallback_start < 0 || s.choices[c].weight_bits + s.choices[c].activation_bits >
                                     s.choices[p.fallback_start].weight_bits + s.choices[p.fallback_start].activation_bits))
      p.fallback_start = static_cast<int>(c);
  // A rung must save more than timing noise: 3% of the layer's step, or 0.2% of the model.
  if (spec.objective.latency > 0) {
    p.min_relative_saving = 0.03;
    p.min_saving = 0.002 * spec.objective.latency;
  }
  p.epsilon_points = 100.0 / std::max<int64_t>(1, ctx.val_options.samples);
  // ALPS lowers layers from the cheapest uniform model within budget (when there is one).
  const Candidate* start = nullptr;
  for (const Candidate& c : m.candidates())
    if (c.strategy == "uniform" && c.within_budget && (!start || c.objective < start->objective)) start = &c;
  if (start) p.alps_start = start->assignment;
  for (size_t i = 0; i < spec.strategies.size(); ++i) {
    const int64_t left = spec.max_evaluations - m.evaluations();
    const int64_t share = (left + static_cast<int64_t>(spec.strategies.size() - i) - 1) /
                          static_cast<int64_t>(spec.strategies.size() - i);
    QB_ASSIGN_OR_RETURN(search::StrategyOutcome o, search::RunStrategy(spec.strategies[i], p, m, share));
    r.budget_spent |= o.budget_spent;
    r.strategies.push_back(std::move(o));
  }
  r.candidates = m.candidates();
  search::MarkParetoFront(&r.candidates);
  // The best: the lowest objective within budget; among those within timing noise of it
  // (2% of a quick latency), the one that loses least accuracy.
  const Candidate* best = nullptr;
  for (const Candidate& c : r.candidates)
    if (c.timed && c.within_budget && (!best || c.objective < best->objective)) best = &c;
  const double tie = spec.objective.latency > 0 ? 0.02 * spec.objective.latency : 0;
  if (best) {
    const double limit = best->objective + tie;
    for (const Candidate& c : r.candidates)
      if (c.timed && c.within_budget && c.objective <= limit && c.drop_points < best->drop_points) best = &c;
  }
  for (const search::StrategyOutcome& o : r.strategies)
    if (o.strategy == search::Strategy::kFallback && o.chosen) r.fallback_id = o.chosen->id;
  r.signal_evaluations = m.uncounted();
  r.candidate_evaluations = m.evaluations();
  r.reused = m.reused();
  if (best) {
    r.best_id = best->id;
    r.best_config = kSearchBestConfig;
    QB_RETURN_IF_ERROR(MeasureChosen(ctx, s, *best, r.best_config, job));
  } else {
    r.notes.push_back("no candidate met the accuracy budget on the validation split");
  }
  if (r.fallback_id && r.fallback_id != r.best_id) {
    r.fallback_config = kSearchFallbackConfig;
    QB_RETURN_IF_ERROR(MeasureChosen(ctx, s, r.candidates[*r.fallback_id], r.fallback_config, job));
  } else if (r.fallback_id) {
    r.fallback_config = r.best_config;
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  job->search = std::move(r);
  return absl::OkStatus();
}

}  // namespace qbench::pipeline_internal
