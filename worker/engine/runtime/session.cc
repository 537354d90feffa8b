#include "worker/engine/runtime/session.h"

#include <omp.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "worker/engine/passes/passes.h"
#include "worker/engine/runtime/plan.h"

namespace qbench {

Session::Session(Graph graph, const SessionOptions& options) : graph_(std::move(graph)), options_(options) {}
Session::~Session() = default;

absl::StatusOr<std::unique_ptr<Session>> Session::Create(Graph graph, const SessionOptions& options) {
  if (options.threads < 0) return absl::InvalidArgumentError("threads must be >= 0");
  const bool onednn = options.fuse && options.backend == Backend::kOneDnn;
  // A quantized (QDQ) graph runs on integer kernels: lower it before folding, which
  // would otherwise turn its int8 weights back into float constants.
  if (onednn) {
    // Shapes first (an imported QDQ model has none yet), keeping int8 weights quantized.
    QB_RETURN_IF_ERROR(PropagateAndFold(graph, nullptr, /*keep_int8_dequantize=*/true));
    QB_RETURN_IF_ERROR(LowerQdq(graph));
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

absl::Status Session::Prepare(const std::vector<Shape>& input_shapes) { return GetPlan(input_shapes).status(); }

absl::StatusOr<std::vector<StepInfo>> Session::Steps(const std::vector<Shape>& input_shapes) {
  QB_ASSIGN_OR_RETURN(Plan * plan, GetPlan(input_shapes));
  return plan->Steps();
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
  QB_ASSIGN_OR_RETURN(Plan * plan, PlanFor(inputs));
  return plan->Run(inputs, observer);
}

absl::StatusOr<std::vector<StepTiming>> Session::Profile(const std::vector<Tensor>& inputs, int iters) {
  if (iters < 1) return absl::InvalidArgumentError(absl::StrCat("profile iterations must be >= 1, got ", iters));
  QB_ASSIGN_OR_RETURN(Plan * plan, PlanFor(inputs));
  const std::vector<StepInfo> steps = plan->Steps();
  std::vector<std::vector<double>> per_step(steps.size());  // [step][iteration]
  std::vector<double> ms;
  QB_RETURN_IF_ERROR(plan->RunProfiled(inputs, &ms));  // warm-up
  for (int it = 0; it < iters; ++it) {
    QB_RETURN_IF_ERROR(plan->RunProfiled(inputs, &ms));
    for (size_t i = 0; i < steps.size(); ++i) per_step[i].push_back(ms[i]);
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
