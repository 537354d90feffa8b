// Runs one job spec end to end: import, optimize, evaluate accuracy on the dataset,
// measure latency per batch size. Pure engine code: no flags, no gRPC, no SQL.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "worker/engine/measure/latency.h"
#include "worker/engine/pipeline/job_spec.h"

namespace qbench {

struct AccuracyResult {
  int64_t samples = 0;
  double top1 = 0, top5 = 0;  // fractions in [0, 1]
  double seconds = 0;         // wall time of the evaluation pass
};

struct BatchLatency {
  int64_t batch_size = 0;
  LatencyStats stats;           // per query (one batch), milliseconds
  double throughput_per_s = 0;  // samples per second at the median
};

struct EnvironmentInfo {
  std::string qbench_version, onednn_version, onednn_isa, cpu_model, compiler;
  int threads = 0, cores = 0;
};

struct JobResult {
  JobSpec spec;
  std::string config = "fp32";
  std::string model_name;
  int64_t model_nodes = 0, model_bytes = 0;
  int64_t planned_nodes = 0;  // after folding and fusion
  AccuracyResult accuracy;
  std::vector<BatchLatency> latency;
  EnvironmentInfo env;
};

absl::StatusOr<JobResult> RunJob(const JobSpec& spec);

nlohmann::json ToJson(const JobResult& r);
std::string ToTable(const JobResult& r);
EnvironmentInfo DescribeEnvironment(int threads);

}  // namespace qbench
