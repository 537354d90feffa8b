#include "engine/runtime/plan.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/ops/op_util.h"
#include "engine/passes/passes.h"

namespace qbench {
namespace {

// 64-byte aligned, rounded up to a multiple of 64 plus one spare line. A failed
// allocation is a status, never a null buffer handed to a kernel.
absl::StatusOr<std::shared_ptr<uint8_t>> AllocateBytes(size_t n) {
  if (n > SIZE_MAX / 2) return absl::ResourceExhaustedError(absl::StrCat("cannot allocate ", n, " bytes"));
  void* p = std::aligned_alloc(64, (n + 63) / 64 * 64 + 64);
  if (p == nullptr) return absl::ResourceExhaustedError(absl::StrCat("out of memory allocating a buffer of ", n, " bytes"));
  return std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p), [](uint8_t* q) { std::free(q); });
}

std::string Bytes(int64_t n) { return n < 0 ? std::string("more than 2^63 bytes") : absl::StrCat(n, " bytes"); }

// Before any kernel sees a shape: every value (activation or constant) must have a size
// that fits int64 and the budget on its own. Names the node that produces it.
absl::Status CheckValueSizes(const Graph& g, int64_t budget) {
  std::vector<const Node*> producer(g.values.size(), nullptr);
  for (const Node& n : g.nodes)
    for (int o : n.outputs)
      if (o >= 0) producer[o] = &n;
  std::vector<bool> is_input(g.values.size(), false);
  for (int i : g.inputs) is_input[i] = true;  // the caller's memory, not the plan's
  for (size_t i = 0; i < g.values.size(); ++i) {
    const Value& v = g.values[i];
    if (!v.has_shape || !IsStatic(v.shape) || is_input[i]) continue;
    const int64_t bytes = CheckedBytes(v.dtype, v.shape);
    if (bytes >= 0 && bytes <= budget) continue;
    const std::string who = producer[i] ? absl::StrCat(NodeContext(*producer[i]), " output \"", v.name, "\"")
                                        : absl::StrCat("value \"", v.name, "\"");
    return absl::ResourceExhaustedError(absl::StrCat(who, " of shape ", ShapeToString(v.shape), " needs ", Bytes(bytes),
                                                     ", over the memory budget of ", budget, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Plan>> Plan::Build(const Graph& graph, const std::vector<Shape>& input_shapes,
                                                  const SessionOptions& options, DnnlContext* ctx) {
  auto plan = std::unique_ptr<Plan>(new Plan());
  plan->graph_ = graph;
  plan->options_ = options;
  plan->ctx_ = ctx;
  Graph& g = plan->graph_;
  if (input_shapes.size() != g.inputs.size())
    return absl::InvalidArgumentError(absl::StrCat("the model has ", g.inputs.size(), " inputs, got ",
                                                   input_shapes.size()));
  std::map<int, Shape> shapes;
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const Value& v = g.values[g.inputs[i]];
    const Shape& s = input_shapes[i];
    bool ok = !v.has_shape || v.shape.size() == s.size();
    for (size_t d = 0; ok && v.has_shape && d < s.size(); ++d) ok = v.shape[d] == kDynamicDim || v.shape[d] == s[d];
    if (!ok)
      return absl::InvalidArgumentError(absl::StrCat("input \"", v.name, "\" expects shape ", ShapeToString(v.shape),
                                                     ", got ", ShapeToString(s)));
    shapes[g.inputs[i]] = s;
  }
  QB_RETURN_IF_ERROR(PropagateAndFold(g, &shapes));
  QB_RETURN_IF_ERROR(CheckValueSizes(g, options.memory_budget_bytes));

  plan->values_.resize(g.values.size());
  for (size_t i = 0; i < g.values.size(); ++i) {
    const Value& v = g.values[i];
    RtValue& rv = plan->values_[i];
    if (!v.has_shape) continue;
    rv.meta.dtype = v.dtype;
    rv.meta.shape = v.shape;
    if (v.constant) rv.meta.constant = &*v.constant;
    if (IsStatic(v.shape)) rv.meta.md = PlainDesc(v.dtype, v.shape);
  }
  for (const Node& n : g.nodes) QB_RETURN_IF_ERROR(plan->AddNode(n));
  // Outputs are read after the last step.
  for (int o : g.outputs) plan->values_[o].last_use = static_cast<int>(plan->steps_.size());
  QB_RETURN_IF_ERROR(plan->Allocate());
  return plan;
}

int Plan::AddReorder(int value, const dnnl::memory::desc& md, const std::string& why) {
  RtValue tmp;
  tmp.meta = values_[value].meta;
  tmp.meta.constant = nullptr;
  tmp.meta.md = md;
  values_.push_back(tmp);
  const int id = static_cast<int>(values_.size()) - 1;
  Step s;
  s.in = {value};
  s.out = {id};
  s.info = {why, "Reorder", "reorder", false};
  values_[value].last_use = static_cast<int>(steps_.size());
  steps_.push_back(std::move(s));
  return id;
}

absl::Status Plan::AddNode(const Node& node) {
  std::vector<int> ins(node.inputs.begin(), node.inputs.end());
  for (const PostOp& p : node.post_ops)
    if (p.kind == "Sum") ins.push_back(p.sum_input);
  if (node.quant && node.quant->dynamic()) {  // runtime scale and zero point, last
    ins.push_back(node.quant->dynamic_scale);
    ins.push_back(node.quant->dynamic_zero_point);
  }
  std::vector<RtMeta> in_meta(ins.size());
  for (size_t i = 0; i < ins.size(); ++i)
    if (ins[i] >= 0) in_meta[i] = values_[ins[i]].meta;
  std::unique_ptr<Kernel> kernel = MakeKernel(node, options_.backend, ctx_);
  std::vector<dnnl::memory::desc> wanted(ins.size());
  for (size_t i = 0; i < ins.size(); ++i) wanted[i] = in_meta[i].md;
  std::vector<RtMeta> out_meta;
  absl::Status prepared = kernel->Prepare(node, in_meta, &wanted, &out_meta);
  if (absl::IsUnimplemented(prepared) && options_.backend == Backend::kOneDnn) {
    // A shape or attribute the oneDNN kernel cannot take: run the reference kernel.
    kernel = MakeKernel(node, Backend::kReference, ctx_);
    for (size_t i = 0; i < ins.size(); ++i) wanted[i] = in_meta[i].md;
    prepared = kernel->Prepare(node, in_meta, &wanted, &out_meta);
  }
  QB_RETURN_IF_ERROR(prepared);
  // Layout changes for runtime inputs (constants are prepacked by the kernel itself).
  for (size_t i = 0; i < ins.size(); ++i) {
    if (ins[i] < 0 || in_meta[i].constant != nullptr || wanted[i] == in_meta[i].md) continue;
    ins[i] = AddReorder(ins[i], wanted[i], absl::StrCat(node.name, ":input", i));
  }
  Step s;
  s.in = ins;
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    const int o = node.outputs[i];
    if (o < 0) {
      RtValue unused;
      unused.meta = out_meta[i];
      values_.push_back(unused);
      s.out.push_back(static_cast<int>(values_.size()) - 1);
      continue;
    }
    values_[o].meta = out_meta[i];
    s.out.push_back(o);
  }
  const int step_index = static_cast<int>(steps_.size());
  for (int v : s.in)
    if (v >= 0) values_[v].last_use = step_index;
  s.info = {node.name, node.op_type, kernel->Implementation(), node.quant.has_value()};
  s.kernel = std::move(kernel);
  steps_.push_back(std::move(s));
  return absl::OkStatus();
}

// The plan's buffers plus the weights it reads (constants, counted once each; kernels
// may hold a prepacked copy besides) against the budget, before anything is allocated.
absl::Status Plan::CheckBudget(const std::vector<size_t>& slot_size) const {
  const int64_t budget = options_.memory_budget_bytes;
  int64_t buffers = 0, weights = 0;
  for (size_t b : slot_size) buffers += static_cast<int64_t>(std::min<size_t>(b, INT64_MAX / 4));
  for (const Value& v : graph_.values)
    if (v.constant) weights += static_cast<int64_t>(v.constant->nbytes());
  if (buffers + weights <= budget) return absl::OkStatus();
  // The biggest value a step writes, named by its step (node, or "node:input0" for a reorder).
  int64_t biggest = 0;
  const Step* at = nullptr;
  for (const Step& st : steps_)
    for (int v : st.out)
      if (const int64_t b = static_cast<int64_t>(values_[v].meta.md.get_size()); b > biggest) biggest = b, at = &st;
  std::string who = "no single step";
  if (at) who = absl::StrCat("node \"", at->info.node, "\" (", at->info.op_type, ") with ", biggest, " bytes");
  return absl::ResourceExhaustedError(absl::StrCat("the plan needs ", buffers + weights, " bytes (buffers ", buffers,
                                                   ", weights ", weights, "), over the memory budget of ", budget,
                                                   " bytes; the biggest is ", who));
}

// Greedy liveness-based assignment: each output takes a free slot at least as big as it
// needs (smallest first), or a new one; a value's slot is freed after its last reader.
// A Sum post-op's residual shares the output's slot when it dies at that step (in place);
// otherwise the executor copies it into the output before the kernel runs.
absl::Status Plan::Allocate() {
  std::vector<size_t> slot_size;
  std::multimap<size_t, int> free;  // size -> slot
  auto take = [&](size_t bytes) {
    auto it = free.lower_bound(bytes);
    if (it != free.end()) {
      const int slot = it->second;
      free.erase(it);
      return slot;
    }
    slot_size.push_back(bytes);
    return static_cast<int>(slot_size.size()) - 1;
  };
  for (size_t si = 0; si < steps_.size(); ++si) {
    Step& s = steps_[si];
    const int inplace = s.kernel ? s.kernel->InPlaceInput() : -1;
    for (size_t k = 0; k < s.out.size(); ++k) {
      RtValue& out = values_[s.out[k]];
      const size_t bytes = out.meta.md.get_size();
      if (k == 0 && inplace >= 0) {
        RtValue& r = values_[s.in[inplace]];
        if (r.slot >= 0 && r.last_use == static_cast<int>(si) && r.meta.md == out.meta.md) {
          out.slot = r.slot;  // handed over: not freed below
          continue;
        }
      }
      out.slot = take(bytes);
      slot_size[out.slot] = std::max(slot_size[out.slot], bytes);
    }
    for (int v : s.in) {
      if (v < 0) continue;
      RtValue& r = values_[v];
      if (r.last_use != static_cast<int>(si) || r.slot < 0 || r.slot == values_[s.out[0]].slot) continue;
      free.emplace(slot_size[r.slot], r.slot);
    }
    for (int v : s.out)  // outputs nobody reads
      if (values_[v].last_use < 0 && values_[v].slot >= 0) free.emplace(slot_size[values_[v].slot], values_[v].slot);
  }
  QB_RETURN_IF_ERROR(CheckBudget(slot_size));
  for (size_t b : slot_size) {
    QB_ASSIGN_OR_RETURN(std::shared_ptr<uint8_t> slot, AllocateBytes(b));
    slots_.push_back(std::move(slot));
    arena_bytes_ += b;
  }
  auto& eng = ctx_->engine;
  for (RtValue& v : values_) {
    if (v.meta.md.is_zero() && !v.meta.constant) continue;
    if (v.meta.constant) {
      v.mem = dnnl::memory(PlainDesc(v.meta.dtype, v.meta.shape), eng, const_cast<Tensor*>(v.meta.constant)->raw());
    } else if (v.slot >= 0) {
      v.mem = dnnl::memory(v.meta.md, eng, slots_[v.slot].get());
    } else {
      v.mem = dnnl::memory(v.meta.md, eng, DNNL_MEMORY_NONE);  // graph input: bound per run
    }
  }
  for (Step& s : steps_) {
    std::vector<dnnl::memory> in, out;
    for (int v : s.in) in.push_back(v >= 0 ? values_[v].mem : dnnl::memory());
    for (int v : s.out) out.push_back(values_[v].mem);
    if (!s.kernel) s.reorder = dnnl::reorder(in[0], out[0]);
    step_in_.push_back(std::move(in));
    step_out_.push_back(std::move(out));
  }
  return absl::OkStatus();
}

}  // namespace qbench

namespace qbench {

Tensor Plan::PlainCopy(int v) {
  const RtValue& rv = values_[v];
  Tensor t(rv.meta.dtype, rv.meta.shape);
  const dnnl::memory::desc plain = PlainDesc(rv.meta.dtype, rv.meta.shape);
  if (rv.meta.md == plain) {
    if (t.nbytes()) std::memcpy(t.raw(), rv.mem.get_data_handle(), t.nbytes());
  } else {
    dnnl::memory dst(plain, ctx_->engine, t.raw());
    dnnl::reorder(rv.mem, dst).execute(ctx_->stream, const_cast<dnnl::memory&>(rv.mem), dst);
    ctx_->stream.wait();
  }
  return t;
}

absl::Status Plan::BindInputs(const std::vector<Tensor>& inputs) {
  for (size_t i = 0; i < graph_.inputs.size(); ++i) {
    const RtValue& v = values_[graph_.inputs[i]];
    if (inputs[i].dtype() != DType::kF32)
      return absl::InvalidArgumentError(absl::StrCat("input \"", graph_.values[graph_.inputs[i]].name,
                                                     "\" must be float32, got ", std::string(Name(inputs[i].dtype()))));
    if (v.mem) v.mem.set_data_handle(const_cast<void*>(inputs[i].raw()));
  }
  return absl::OkStatus();
}

absl::Status Plan::ExecuteStep(size_t si) {
  Step& s = steps_[si];
  const auto& in = step_in_[si];
  const auto& out = step_out_[si];
  if (!s.kernel) {
    s.reorder.execute(ctx_->stream, const_cast<dnnl::memory&>(in[0]), const_cast<dnnl::memory&>(out[0]));
    return absl::OkStatus();
  }
  const int inplace = s.kernel->InPlaceInput();
  if (inplace >= 0 && in[inplace].get_data_handle() != out[0].get_data_handle())
    std::memcpy(out[0].get_data_handle(), in[inplace].get_data_handle(), out[0].get_desc().get_size());
  absl::Status status = s.kernel->Execute(in, out);
  if (!status.ok()) return Annotate(status, absl::StrCat("step ", si, " (", s.info.node, ")"));
  return absl::OkStatus();
}

absl::Status Plan::RunProfiled(const std::vector<Tensor>& inputs, std::vector<double>* step_ms) {
  using Clock = std::chrono::steady_clock;
  QB_RETURN_IF_ERROR(BindInputs(inputs));
  step_ms->assign(steps_.size(), 0.0);
  dnnl::stream& st = ctx_->stream;
  try {
    st.wait();
    for (size_t si = 0; si < steps_.size(); ++si) {
      const auto t0 = Clock::now();
      QB_RETURN_IF_ERROR(ExecuteStep(si));
      st.wait();
      (*step_ms)[si] = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    }
  } catch (const dnnl::error& e) {
    return absl::InternalError(absl::StrCat("oneDNN failed while running: ", e.what()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Tensor>> Plan::Run(const std::vector<Tensor>& inputs, const ValueObserver* observer) {
  QB_RETURN_IF_ERROR(BindInputs(inputs));
  dnnl::stream& st = ctx_->stream;
  if (observer)
    for (size_t i = 0; i < graph_.inputs.size(); ++i) QB_RETURN_IF_ERROR((*observer)(graph_.inputs[i], inputs[i]));
  const int graph_values = static_cast<int>(graph_.values.size());
  try {
    for (size_t si = 0; si < steps_.size(); ++si) {
      QB_RETURN_IF_ERROR(ExecuteStep(si));
      const Step& s = steps_[si];
      if (observer && s.kernel) {
        st.wait();
        for (int v : s.out)
          if (v < graph_values && values_[v].mem) QB_RETURN_IF_ERROR((*observer)(v, PlainCopy(v)));
      }
    }
    st.wait();
  } catch (const dnnl::error& e) {
    return absl::InternalError(absl::StrCat("oneDNN failed while running: ", e.what()));
  }
  std::vector<Tensor> result;
  for (int o : graph_.outputs) {
    const Value& gv = graph_.values[o];
    if (gv.constant) {
      result.push_back(gv.constant->Clone());
      continue;
    }
    result.push_back(PlainCopy(o));
  }
  return result;
}

size_t Plan::PeakStepBytes() const {
  size_t peak = 0;
  for (const Step& s : steps_) {
    size_t bytes = 0;
    for (const std::vector<int>* ids : {&s.in, &s.out})
      for (int v : *ids)
        if (v >= 0 && !values_[v].meta.constant && values_[v].mem) bytes += values_[v].mem.get_desc().get_size();
    peak = std::max(peak, bytes);
  }
  return peak;
}

std::vector<StepInfo> Plan::Steps() const {
  std::vector<StepInfo> out;
  for (const Step& s : steps_) out.push_back(s.info);
  return out;
}

}  // namespace qbench
