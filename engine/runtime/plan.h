// A Plan: the graph specialized to one set of input shapes, as a list of steps (kernels
// and layout reorders) over buffers assigned once by liveness, so that values whose
// lifetimes do not overlap share memory. Build refuses, with RESOURCE_EXHAUSTED naming
// the node, any value or whole plan over SessionOptions::memory_budget_bytes, before a
// kernel sees the shape or a buffer is allocated.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/runtime/kernel.h"
#include "engine/runtime/session.h"

namespace qbench {

class Plan {
 public:
  // `graph` is the session's optimized graph; it is copied and specialized.
  static absl::StatusOr<std::unique_ptr<Plan>> Build(const Graph& graph, const std::vector<Shape>& input_shapes,
                                                     const SessionOptions& options, DnnlContext* ctx);

  absl::StatusOr<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs, const ValueObserver* observer = nullptr);
  // Runs the plan once as Run does, but waits on the stream after every step and stores
  // each step's wall time in milliseconds in (*step_ms)[i] (one entry per Steps() entry).
  // The waits add a little time per step; use Run for end-to-end latency.
  absl::Status RunProfiled(const std::vector<Tensor>& inputs, std::vector<double>* step_ms);
  std::vector<StepInfo> Steps() const;
  size_t arena_bytes() const { return arena_bytes_; }
  // The most bytes of activations (inputs and outputs, constants excluded) one step
  // touches: the working set sub-batching keeps in cache.
  size_t PeakStepBytes() const;

 private:
  struct RtValue {
    RtMeta meta;
    int slot = -1;        // buffer slot; -1 for inputs (user memory) and constants
    dnnl::memory mem;
    int last_use = -1;    // index of the last step reading it
  };
  struct Step {
    std::unique_ptr<Kernel> kernel;  // null for a reorder/copy step
    dnnl::reorder reorder;
    std::vector<int> in, out;        // runtime value ids
    StepInfo info;
  };

  absl::Status AddNode(const Node& node);
  int AddReorder(int value, const dnnl::memory::desc& md, const std::string& why);
  absl::Status Allocate();
  absl::Status CheckBudget(const std::vector<size_t>& slot_size) const;
  absl::Status BindInputs(const std::vector<Tensor>& inputs);
  // Enqueues step si (kernel or reorder) on the stream, without waiting.
  absl::Status ExecuteStep(size_t si);
  // A plain copy of runtime value v (reordered when its layout is blocked).
  Tensor PlainCopy(int v);

  Graph graph_;
  SessionOptions options_;
  DnnlContext* ctx_ = nullptr;
  std::vector<RtValue> values_;  // graph values first (same ids), then reorder temporaries
  std::vector<Step> steps_;
  std::vector<std::shared_ptr<uint8_t>> slots_;
  size_t arena_bytes_ = 0;
  std::vector<std::vector<dnnl::memory>> step_in_, step_out_;  // memories per step, bound once
};

// Creates the kernel for a node: the oneDNN one when the backend is oneDNN and one
// exists for this node (kernels/onednn/registry.cc), the reference adapter otherwise.
std::unique_ptr<Kernel> MakeKernel(const Node& node, Backend backend, DnnlContext* ctx);

}  // namespace qbench
