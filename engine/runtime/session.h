// A Session runs one optimized graph on one backend. Plans (kernels with their oneDNN
// primitives, prepacked weights and buffers) are built once per input shape and reused:
// running a second batch of the same size allocates nothing and creates no primitive.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/core/tensor.h"
#include "engine/graph/graph.h"
#include "spec/backend.h"

namespace qbench {

// This machine's physical memory in bytes (sysconf), 0 when unknown.
int64_t PhysicalMemoryBytes();
// The memory budget new SessionOptions start with: what SetDefaultMemoryBudgetBytes set
// (a worker's --job-memory-mib in its engine process), else half of physical memory.
int64_t DefaultMemoryBudgetBytes();
// 0 restores half of physical memory.
void SetDefaultMemoryBudgetBytes(int64_t bytes);

struct SessionOptions {
  Backend backend = Backend::kOneDnn;
  int threads = 0;  // OpenMP threads for oneDNN; 0 keeps the process default
  bool fuse = true; // BN folding and post-op fusion (off: one kernel per ONNX op)
  // Sub-batching (runtime/sub_batch.h) of batches whose activations overflow the cache:
  // kAutoSubBatch picks the sub-batch from the cache size, 0 never splits, n > 0 splits
  // into pieces of at most n. Only graphs whose samples are independent are split.
  int64_t sub_batch = kAutoSubBatch;
  static constexpr int64_t kAutoSubBatch = qbench::kAutoSubBatch;
  // The most bytes one plan may hold: its activation buffers plus the model's weights
  // (constants). A plan over it is refused with RESOURCE_EXHAUSTED naming its biggest
  // node; so is any single value over it, before a kernel sees its shape.
  int64_t memory_budget_bytes = DefaultMemoryBudgetBytes();
};

// How a batch of a given size runs (Session::Split).
struct BatchSplit {
  int64_t batch = 0, sub_batch = 0;  // sub_batch == batch: one piece
  size_t per_sample_bytes = 0;       // the largest step's activations per sample
  size_t budget_bytes = 0;           // what auto mode fits them in
  std::string why;                   // why not split (when it is not and could be)
  int64_t pieces() const { return sub_batch > 0 ? batch / sub_batch : 0; }
};
// "batch 64 as 16 sub-batches of 4 (...)" or "batch 64 in one piece (why)", for notes.
std::string DescribeSplit(const BatchSplit& split);

// One executed step, for per-layer timing and reports.
struct StepInfo {
  std::string node;            // node name ("reorder" steps name their value)
  std::string op_type;         // "Conv", ..., or "Reorder"
  std::string implementation;  // oneDNN implementation or "reference"
  // An integer layer (Node::quant set by lowering): it runs an int8 primitive. Not
  // readable from `implementation` everywhere: without VNNI oneDNN names int8 and float
  // kernels alike ("gemm:jit", "jit:avx2").
  bool integer = false;
};

// One step's time over a profiled run (Session::Profile).
struct StepTiming {
  StepInfo info;
  double median_ms = 0;  // median over the profiled runs, milliseconds
  double share = 0;      // median_ms over the sum of all steps' medians, 0..1
};

// Called during a run with each value a step produced (and each graph input), as a
// plain row-major float32 or integer tensor valid only during the call. Calibration
// observes activations through it. A non-OK status stops the run.
using ValueObserver = std::function<absl::Status(int value_id, const Tensor& value)>;

class Plan;

class Session {
 public:
  static absl::StatusOr<std::unique_ptr<Session>> Create(Graph graph, const SessionOptions& options);
  ~Session();

  // A session on a copy of this one's optimized graph with the same options and no
  // plans: the same function, freshly allocated (latency sessions use it).
  std::unique_ptr<Session> Twin() const;

  const Graph& graph() const { return graph_; }
  std::vector<std::string> input_names() const;
  std::vector<std::string> output_names() const;
  // Declared input shape (dims may be kDynamicDim).
  Shape input_shape(int i) const { return graph_.values[graph_.inputs[i]].shape; }

  // Inputs in graph input order, float32 row-major. Returns outputs in graph output order.
  absl::StatusOr<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs, const ValueObserver* observer = nullptr);

  // How a batch of input shapes runs: in one piece or as equal sub-batches.
  absl::StatusOr<BatchSplit> Split(const std::vector<Shape>& input_shapes);

  // Builds (or finds) the plan for these input shapes without running it.
  absl::Status Prepare(const std::vector<Shape>& input_shapes);
  // The steps of the plan for these shapes (after Prepare or Run); with sub-batching, of
  // the sub-batch plan that runs.
  absl::StatusOr<std::vector<StepInfo>> Steps(const std::vector<Shape>& input_shapes);
  // Runs the plan for these inputs once to warm up, then `iters` (>= 1) times waiting on
  // the stream after every step; returns one entry per step, in Steps() order (with
  // sub-batching, each step's time summed over the pieces).
  absl::StatusOr<std::vector<StepTiming>> Profile(const std::vector<Tensor>& inputs, int iters);

 private:
  Session(Graph graph, const SessionOptions& options);
  absl::StatusOr<Plan*> GetPlan(const std::vector<Shape>& shapes);
  // The plan for these inputs (checked against the graph), with the thread count set.
  absl::StatusOr<Plan*> PlanFor(const std::vector<Tensor>& inputs);
  // The plan that runs these inputs (the sub-batch plan when split) and the split.
  absl::StatusOr<std::pair<Plan*, BatchSplit>> RunPlan(const std::vector<Shape>& shapes);
  // Input i of piece p of a split batch (a view, no copy).
  static std::vector<Tensor> Piece(const std::vector<Tensor>& inputs, const BatchSplit& split, int64_t p);

  Graph graph_;
  SessionOptions options_;
  std::map<std::vector<Shape>, std::unique_ptr<Plan>> plans_;
  std::optional<absl::Status> separable_;  // CheckBatchSeparable, once
  std::map<int64_t, BatchSplit> splits_;   // by batch
};

}  // namespace qbench
