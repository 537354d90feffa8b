#include "engine/kernels/onednn/int8_util.h"
#include "engine/runtime/session.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/passes/passes.h"
#include "engine/runtime/plan.h"
#include "engine/runtime/sub_batch.h"

namespace qbench {

namespace {
std::atomic<int64_t> g_default_budget{0};
}  // namespace

int64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : 0;
}

int64_t DefaultMemoryBudgetBytes() {
  const int64_t set = g_default_budget.load();
  if (set > 0) return set;
  const int64_t half = PhysicalMemoryBytes() / 2;
  return half > 0 ? half : int64_t{4} << 30;  // unknown: 4 GiB
}

void SetDefaultMemoryBudgetBytes(int64_t bytes) { g_default_budget.store(bytes > 0 ? bytes : 0); }

Session::Session(Graph graph, const SessionOptions& options) : graph_(std::move(graph)), options_(options) {}
Session::~Session() = default;

std::unique_ptr<Session> Session::Twin() const { return std::unique_ptr<Session>(new Session(graph_, options_)); }

absl::StatusOr<std::unique_ptr<Session>> Session::Create(Graph graph, const SessionOptions& options) {
  if (options.threads < 0) return absl::InvalidArgumentError("threads must be >= 0");
  const bool onednn = options.fuse && options.backend == Backend::kOneDnn;
  // A quantized (QDQ) graph runs on integer kernels: lower it before folding, which
  // would otherwise turn its int8 weights back into float constants.
  if (onednn) {
    // Shapes first (an imported QDQ model has none yet), keeping int8 weights quantized.
    QB_RETURN_IF_ERROR(PropagateAndFold(graph, nullptr, /*keep_int8_dequantize=*/true));
    QB_RETURN_IF_ERROR(LowerQdq(graph, Int8ExactWeightBits()));
  }
  QB_RETURN_IF_ERROR(Optimize(graph, onednn));
  return std::unique_ptr<Session>(new Session(std::move(graph), options));
}

std::vector<std::string> Session::input_names() const {
  std::vector<std::string> out;
  for (int v : graph_.inputs) out.push_back(graph_.values[v].name);
  return out;
}

std::vector<std::string> Session::output_names() const {
  std::vector<std::string> out;
  for (int v : graph_.outputs) out.push_back(graph_.values[v].name);
  return out;
}

// One engine/stream per process: oneDNN requires memories and primitives to share one.
static DnnlContext* SharedContext() {
  static DnnlContext* ctx = new DnnlContext();
  return ctx;
}

absl::StatusOr<Plan*> Session::GetPlan(const std::vector<Shape>& shapes) {
  auto it = plans_.find(shapes);
  if (it != plans_.end()) return it->second.get();
  if (options_.threads > 0) omp_set_num_threads(options_.threads);
  absl::StatusOr<std::unique_ptr<Plan>> plan;
  try {
    plan = Plan::Build(graph_, shapes, options_, SharedContext());
  } catch (const dnnl::error& e) {
    return absl::InternalError(absl::StrCat("oneDNN failed while planning: ", e.what()));
  }
  if (!plan.ok()) return plan.status();
  Plan* raw = plan->get();
  plans_[shapes] = *std::move(plan);
  return raw;
}

absl::StatusOr<BatchSplit> Session::Split(const std::vector<Shape>& shapes) {
  BatchSplit split;
  if (shapes.size() != 1 || shapes[0].empty()) {
    split.why = "the model does not have one batched input";
    return split;
  }
  split.batch = split.sub_batch = shapes[0][0];
  if (auto it = splits_.find(split.batch); it != splits_.end()) return it->second;
  if (options_.backend != Backend::kOneDnn || options_.sub_batch == 0 || split.batch <= 1) {
    split.why = split.batch <= 1 ? "one sample" : "sub-batching is off";
    return split;
  }
  if (!separable_) separable_ = CheckBatchSeparable(graph_);
  if (!separable_->ok()) {
    split.why = std::string(separable_->message());
    return splits_[split.batch] = split;
  }
  // The working set per sample, from the plan for one sample (cheap, and often needed
  // anyway for batch-1 latency).
  Shape one = shapes[0];
  one[0] = 1;
  QB_ASSIGN_OR_RETURN(Plan * single, GetPlan({one}));
  split.per_sample_bytes = single->PeakStepBytes();
  if (options_.sub_batch > 0) {
    split.sub_batch = SubBatchFor(split.batch, 1, static_cast<size_t>(options_.sub_batch));
  } else {
    split.budget_bytes = CacheBudgetBytes();
    split.sub_batch = SubBatchFor(split.batch, split.per_sample_bytes, split.budget_bytes);
  }
  return splits_[split.batch] = split;
}

absl::StatusOr<std::pair<Plan*, BatchSplit>> Session::RunPlan(const std::vector<Shape>& shapes) {
  QB_ASSIGN_OR_RETURN(BatchSplit split, Split(shapes));
  std::vector<Shape> run = shapes;
  if (split.sub_batch != split.batch) run[0][0] = split.sub_batch;
  QB_ASSIGN_OR_RETURN(Plan * plan, GetPlan(run));
  if (options_.threads > 0) omp_set_num_threads(options_.threads);
  return std::make_pair(plan, split);
}

std::vector<Tensor> Session::Piece(const std::vector<Tensor>& inputs, const BatchSplit& split, int64_t p) {
  const Tensor& in = inputs[0];
  Shape shape = in.shape();
  shape[0] = split.sub_batch;
  const size_t bytes = in.nbytes() / static_cast<size_t>(split.batch) * static_cast<size_t>(split.sub_batch);
  auto* base = static_cast<uint8_t*>(const_cast<void*>(in.raw()));
  return {Tensor::WrapExternal(in.dtype(), shape, base + static_cast<size_t>(p) * bytes)};
}

absl::Status Session::Prepare(const std::vector<Shape>& input_shapes) { return RunPlan(input_shapes).status(); }

absl::StatusOr<std::vector<StepInfo>> Session::Steps(const std::vector<Shape>& input_shapes) {
  QB_ASSIGN_OR_RETURN(auto run, RunPlan(input_shapes));
  return run.first->Steps();
}

absl::StatusOr<Plan*> Session::PlanFor(const std::vector<Tensor>& inputs) {
  if (inputs.size() != graph_.inputs.size())
    return absl::InvalidArgumentError(absl::StrCat("the model has ", graph_.inputs.size(), " inputs, got ",
                                                   inputs.size()));
  std::vector<Shape> shapes;
  for (const Tensor& t : inputs) shapes.push_back(t.shape());
  QB_ASSIGN_OR_RETURN(Plan * plan, GetPlan(shapes));
  if (options_.threads > 0) omp_set_num_threads(options_.threads);
  return plan;
}

absl::StatusOr<std::vector<Tensor>> Session::Run(const std::vector<Tensor>& inputs, const ValueObserver* observer) {
  // Observers (calibration, per-layer SQNR) see whole-batch values: no sub-batching.
  if (observer || inputs.size() != 1 || inputs[0].rank() == 0) {
    QB_ASSIGN_OR_RETURN(Plan * plan, PlanFor(inputs));
    return plan->Run(inputs, observer);
  }
  // (Plan::Build rejects a graph with another input count.)
  QB_ASSIGN_OR_RETURN(auto run, RunPlan({inputs[0].shape()}));
  auto [plan, split] = run;
  if (split.sub_batch == split.batch) return plan->Run(inputs);
  std::vector<Tensor> outputs;
  for (int64_t p = 0; p < split.pieces(); ++p) {
    QB_ASSIGN_OR_RETURN(std::vector<Tensor> piece, plan->Run(Piece(inputs, split, p)));
    for (size_t o = 0; o < piece.size(); ++o) {
      const Tensor& t = piece[o];
      if (t.rank() == 0 || t.dim(0) != split.sub_batch)
        return absl::InternalError(absl::StrCat("sub-batching: output ", o, " of a piece has shape ",
                                                ShapeToString(t.shape()), ", not ", split.sub_batch, " samples"));
      if (p == 0) {
        Shape full = t.shape();
        full[0] = split.batch;
        outputs.emplace_back(t.dtype(), full);
      }
      std::memcpy(static_cast<uint8_t*>(outputs[o].raw()) + static_cast<size_t>(p) * t.nbytes(), t.raw(),
                  t.nbytes());
    }
  }
  return outputs;
}

absl::StatusOr<std::vector<StepTiming>> Session::Profile(const std::vector<Tensor>& inputs, int iters) {
  if (iters < 1) return absl::InvalidArgumentError(absl::StrCat("profile iterations must be >= 1, got ", iters));
  Plan* plan = nullptr;
  BatchSplit split;
  if (inputs.size() == 1 && inputs[0].rank() > 0) {
    QB_ASSIGN_OR_RETURN(auto run, RunPlan({inputs[0].shape()}));
    std::tie(plan, split) = run;
  } else {
    QB_ASSIGN_OR_RETURN(plan, PlanFor(inputs));
  }
  const bool pieces = split.sub_batch != split.batch;
  const std::vector<StepInfo> steps = plan->Steps();
  std::vector<std::vector<double>> per_step(steps.size());  // [step][iteration]
  std::vector<double> ms, sum;
  // One pass over the batch: every piece, each step's time summed over them.
  const auto pass = [&]() -> absl::Status {
    if (!pieces) return plan->RunProfiled(inputs, &sum);
    sum.assign(steps.size(), 0.0);
    for (int64_t p = 0; p < split.pieces(); ++p) {
      QB_RETURN_IF_ERROR(plan->RunProfiled(Piece(inputs, split, p), &ms));
      for (size_t i = 0; i < steps.size(); ++i) sum[i] += ms[i];
    }
    return absl::OkStatus();
  };
  QB_RETURN_IF_ERROR(pass());  // warm-up
  for (int it = 0; it < iters; ++it) {
    QB_RETURN_IF_ERROR(pass());
    for (size_t i = 0; i < steps.size(); ++i) per_step[i].push_back(sum[i]);
  }
  std::vector<StepTiming> out(steps.size());
  double total = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    std::vector<double>& v = per_step[i];
    std::sort(v.begin(), v.end());
    out[i].info = steps[i];
    out[i].median_ms = (v[(v.size() - 1) / 2] + v[v.size() / 2]) / 2;
    total += out[i].median_ms;
  }
  for (StepTiming& t : out) t.share = total > 0 ? t.median_ms / total : 0;
  return out;
}

}  // namespace qbench
