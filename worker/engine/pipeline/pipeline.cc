#include "worker/engine/pipeline/pipeline.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <thread>

#include <dnnl.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status.h"
#include "worker/engine/data/dataset.h"
#include "worker/engine/onnx/importer.h"

namespace qbench {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// Counts top-1/top-5 hits for one batch of scores [N, classes, (1, 1)].
void Score(const Tensor& scores, const data::Dataset& ds, int64_t first, int64_t n, int64_t* top1, int64_t* top5) {
  const int64_t classes = scores.num_elements() / scores.dim(0);
  const float* s = scores.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const float* row = s + i * classes;
    const int label = ds.label(first + i);
    if (label < 0 || label >= classes) continue;
    // Rank of the true label = number of classes with a strictly higher score.
    int64_t higher = 0;
    for (int64_t c = 0; c < classes; ++c) higher += row[c] > row[label];
    *top1 += higher == 0;
    *top5 += higher < 5;
  }
}

std::string CpuModel() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

}  // namespace

EnvironmentInfo DescribeEnvironment(int threads) {
  EnvironmentInfo e;
  e.qbench_version = "0.1.0";
  const dnnl_version_t* v = dnnl::version();
  e.onednn_version = absl::StrCat(v->major, ".", v->minor, ".", v->patch, " (", v->hash, ")");
  static const std::pair<dnnl::cpu_isa, const char*> kIsa[] = {
      {dnnl::cpu_isa::avx512_core_amx, "avx512_core_amx"}, {dnnl::cpu_isa::avx512_core_bf16, "avx512_core_bf16"},
      {dnnl::cpu_isa::avx512_core_vnni, "avx512_core_vnni"}, {dnnl::cpu_isa::avx512_core, "avx512_core"},
      {dnnl::cpu_isa::avx2_vnni, "avx2_vnni"}, {dnnl::cpu_isa::avx2, "avx2"}, {dnnl::cpu_isa::sse41, "sse41"}};
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  e.onednn_isa = "other";
  for (const auto& [k, name] : kIsa)
    if (k == isa) e.onednn_isa = name;
  e.cpu_model = CpuModel();
  e.compiler = absl::StrCat("gcc ", __VERSION__);
  e.threads = threads;
  e.cores = static_cast<int>(std::thread::hardware_concurrency());
  return e;
}

absl::StatusOr<JobResult> RunJob(const JobSpec& spec) {
  JobResult r;
  r.spec = spec;
  r.env = DescribeEnvironment(spec.threads);
  r.model_name = std::filesystem::path(spec.model).filename().string();
  std::error_code ec;
  r.model_bytes = static_cast<int64_t>(std::filesystem::file_size(spec.model, ec));
  QB_ASSIGN_OR_RETURN(Graph graph, ImportOnnxFile(spec.model));
  r.model_nodes = static_cast<int64_t>(graph.nodes.size());
  if (graph.inputs.size() != 1)
    return absl::UnimplementedError(absl::StrCat(spec.model, ": the runner feeds models with one input, this one has ",
                                                 graph.inputs.size()));
  SessionOptions options;
  options.backend = spec.backend;
  options.threads = spec.threads;
  QB_ASSIGN_OR_RETURN(auto session, Session::Create(std::move(graph), options));
  r.planned_nodes = static_cast<int64_t>(session->graph().nodes.size());
  QB_ASSIGN_OR_RETURN(auto ds, data::OpenDataset(spec.eval_dataset));
  const int64_t total = spec.samples > 0 ? std::min(spec.samples, ds->size()) : ds->size();
  if (total == 0) return absl::InvalidArgumentError(absl::StrCat(spec.eval_dataset, ": the dataset is empty"));

  // The model's input shape fixes the batch when its first dim is static.
  const Shape declared = session->input_shape(0);
  const bool fixed_batch = !declared.empty() && declared[0] != kDynamicDim;
  int64_t eval_batch = spec.eval_batch_size > 0 ? spec.eval_batch_size : (fixed_batch ? declared[0] : 64);
  if (fixed_batch && eval_batch != declared[0])
    return absl::InvalidArgumentError(absl::StrCat("job spec: eval_batch_size ", eval_batch, " but model input \"",
                                                   session->input_names()[0], "\" has a fixed batch of ", declared[0]));
  const Shape& sample = ds->sample_shape();
  if (declared.size() == sample.size() + 1)
    for (size_t d = 0; d < sample.size(); ++d)
      if (declared[d + 1] != kDynamicDim && declared[d + 1] != sample[d])
        return absl::InvalidArgumentError(absl::StrCat("dataset ", spec.eval_dataset, " yields samples of shape ",
                                                       ShapeToString(sample), " but model input \"",
                                                       session->input_names()[0], "\" expects ",
                                                       ShapeToString(declared)));

  // Accuracy: one pass over the first `total` samples, in order.
  const int loader_threads = std::max(1u, std::thread::hardware_concurrency());
  int64_t top1 = 0, top5 = 0;
  const auto t0 = Clock::now();
  for (int64_t first = 0; first < total; first += eval_batch) {
    const int64_t n = std::min(eval_batch, total - first);
    std::vector<int64_t> idx(fixed_batch ? eval_batch : n);
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = std::min(first + static_cast<int64_t>(i), total - 1);
    QB_ASSIGN_OR_RETURN(Tensor batch, data::LoadBatch(*ds, idx, loader_threads));
    QB_ASSIGN_OR_RETURN(std::vector<Tensor> out, session->Run({batch}));
    Score(out[0], *ds, first, n, &top1, &top5);
  }
  r.accuracy.seconds = Seconds(t0, Clock::now());
  r.accuracy.samples = total;
  r.accuracy.top1 = static_cast<double>(top1) / total;
  r.accuracy.top5 = static_cast<double>(top5) / total;

  // Latency per batch size, on real samples (repeated when the set is smaller).
  for (int64_t bs : spec.batch_sizes) {
    if (fixed_batch && bs != declared[0]) continue;  // reported as skipped by the caller
    std::vector<int64_t> idx(bs);
    for (int64_t i = 0; i < bs; ++i) idx[i] = i % ds->size();
    QB_ASSIGN_OR_RETURN(Tensor batch, data::LoadBatch(*ds, idx, loader_threads));
    QB_RETURN_IF_ERROR(session->Prepare({batch.shape()}));
    const auto w0 = Clock::now();
    for (int64_t i = 0; i < spec.latency.warmup_iters || Seconds(w0, Clock::now()) < spec.latency.warmup_seconds; ++i)
      QB_RETURN_IF_ERROR(session->Run({batch}).status());
    std::vector<double> ms;
    const auto m0 = Clock::now();
    while (static_cast<int64_t>(ms.size()) < spec.latency.max_iters &&
           (static_cast<int64_t>(ms.size()) < spec.latency.min_iters ||
            Seconds(m0, Clock::now()) < spec.latency.min_seconds)) {
      const auto a = Clock::now();
      QB_RETURN_IF_ERROR(session->Run({batch}).status());
      ms.push_back(Seconds(a, Clock::now()) * 1e3);
    }
    BatchLatency bl;
    bl.batch_size = bs;
    bl.stats = Summarize(ms);
    bl.throughput_per_s = bl.stats.median_ms > 0 ? bs * 1e3 / bl.stats.median_ms : 0;
    r.latency.push_back(bl);
  }
  return r;
}

nlohmann::json ToJson(const JobResult& r) {
  nlohmann::json j;
  j["name"] = r.spec.name;
  j["config"] = r.config;
  j["model"] = {{"path", r.spec.model}, {"name", r.model_name}, {"bytes", r.model_bytes},
                {"onnx_nodes", r.model_nodes}, {"planned_nodes", r.planned_nodes}};
  j["backend"] = r.spec.backend == Backend::kOneDnn ? "onednn" : "reference";
  j["accuracy"] = {{"dataset", r.spec.eval_dataset}, {"samples", r.accuracy.samples}, {"top1", r.accuracy.top1},
                   {"top5", r.accuracy.top5}, {"seconds", r.accuracy.seconds}};
  j["latency"] = nlohmann::json::array();
  for (const BatchLatency& b : r.latency)
    j["latency"].push_back({{"batch_size", b.batch_size},
                            {"method", "single query at a time, wall clock per batch, nearest-rank percentiles"},
                            {"queries", b.stats.count},
                            {"warmup_iters", r.spec.latency.warmup_iters},
                            {"min_ms", b.stats.min_ms},
                            {"median_ms", b.stats.median_ms},
                            {"p90_ms", b.stats.p90_ms},
                            {"p99_ms", b.stats.p99_ms},
                            {"max_ms", b.stats.max_ms},
                            {"mean_ms", b.stats.mean_ms},
                            {"throughput_per_s", b.throughput_per_s}});
  j["environment"] = {{"qbench_version", r.env.qbench_version}, {"onednn_version", r.env.onednn_version},
                      {"onednn_isa", r.env.onednn_isa},         {"cpu_model", r.env.cpu_model},
                      {"compiler", r.env.compiler},             {"threads", r.env.threads},
                      {"cores", r.env.cores}};
  return j;
}

std::string ToTable(const JobResult& r) {
  std::string s = absl::StrFormat("model      %s (%d ONNX nodes -> %d planned)\n", r.model_name, r.model_nodes,
                                  r.planned_nodes);
  s += absl::StrFormat("backend    %s, %d thread(s), oneDNN %s, ISA %s\n",
                       r.spec.backend == Backend::kOneDnn ? "onednn" : "reference", r.env.threads,
                       r.env.onednn_version, r.env.onednn_isa);
  s += absl::StrFormat("accuracy   top-1 %.2f%%  top-5 %.2f%%  (%d samples, %.1f s)\n", 100 * r.accuracy.top1,
                       100 * r.accuracy.top5, r.accuracy.samples, r.accuracy.seconds);
  s += absl::StrFormat("%-8s %8s %10s %10s %10s %12s\n", "config", "batch", "p50 ms", "p99 ms", "queries",
                       "samples/s");
  for (const BatchLatency& b : r.latency)
    s += absl::StrFormat("%-8s %8d %10.3f %10.3f %10d %12.1f\n", r.config, b.batch_size, b.stats.median_ms,
                         b.stats.p99_ms, b.stats.count, b.throughput_per_s);
  return s;
}

}  // namespace qbench
