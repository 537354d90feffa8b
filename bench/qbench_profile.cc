// qbench-profile: where the time goes, FP32 against one quantized configuration, in one
// process. Quantizes the model as qbench-export does (import, optimize, calibrate,
// QuantizeGraph), then times both sessions on the same batch interleaved and profiles
// each plan step by step (Session::Profile).
//
//   qbench-profile --model M.onnx --calib MANIFEST [--samples N] [--config NAME_OR_JSON]
//                  [--batch B] [--threads T] [--iters I] [--rounds R] [--relax-batch] [--json]
//
// Timing: W warm-up runs per session, then R rounds; each round times I runs of each
// session (FP32 first on even rounds, the config first on odd ones, so drift and
// frequency changes hit both alike) and keeps the round's median; the reported latency is
// the median of the round medians, and the ratio is config over FP32. The step tables come
// from I further profiled runs (a stream wait after each step), so their sum is a little
// above the end-to-end median. The input batch is the first B samples of --data (default
// the calibration manifest), repeated when the dataset is smaller.
// Exit codes: 0 ok, 2 usage or input errors, 1 quantization or run failures.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/flags.h"
#include "common/status.h"
#include "engine/data/dataset.h"
#include "engine/onnx/importer.h"
#include "engine/quant/calibrate.h"
#include "spec/quant_config.h"
#include "engine/quant/quantize_graph.h"
#include "engine/runtime/session.h"

namespace qbench {
namespace {

struct Options {
  std::string model, calib, data, config = "w8a8";
  int64_t samples = 512, seed = 0, batch = 1, iters = 20, rounds = 5, warmup = 5;
  int64_t sub_batch = SessionOptions::kAutoSubBatch;
  int threads = 1;
  bool relax_batch = false, json = false, help = false;
};

// One table drives both parsing and --help.
constexpr FlagSpec kFlags[] = {
    {"--model", "M", "FP32 ONNX model"},
    {"--calib", "MANIFEST", "calibration dataset manifest"},
    {"--data", "MANIFEST", "dataset for the timed batch (default --calib)"},
    {"--samples", "N", "calibration samples (default 512)"},
    {"--seed", "S", "calibration sample seed (default 0)"},
    {"--config", "NAME|JSON", "configuration: short name or JSON object (default w8a8)"},
    {"--batch", "B", "batch size timed (default 1)"},
    {"--threads", "T", "oneDNN threads (default 1)"},
    {"--iters", "I", "timed runs per round and profiled runs per session (default 20)"},
    {"--rounds", "R", "interleaved timing rounds (default 5)"},
    {"--warmup", "W", "warm-up runs per session (default 5)"},
    {"--sub-batch", "auto|off|N", "run large batches as sub-batches: from the cache size (default), never, or <= N"},
    {"--relax-batch", nullptr, "make a fixed batch dynamic (and Reshape targets [batch, ...]), checked vs the original"},
    {"--json", nullptr, "print one JSON object instead of tables"},
    {"--help", nullptr, "show this help"},
};

void Usage(FILE* f) {
  std::fprintf(f, "usage: qbench-profile --model M.onnx --calib MANIFEST [--samples N] [--config NAME_OR_JSON]\n"
                  "                      [--batch B] [--threads T] [--iters I] [--rounds R] [--relax-batch] [--json]\n\n");
  std::fputs(FlagHelp(kFlags).c_str(), f);
}

absl::StatusOr<Options> ParseArgs(int argc, char** argv) {
  Options o;
  QB_ASSIGN_OR_RETURN(auto flags, ParseFlags(argc, argv, kFlags));
  for (const auto& [a, v] : flags) {
    if (a == "--model") o.model = v;
    else if (a == "--calib") o.calib = v;
    else if (a == "--data") o.data = v;
    else if (a == "--config") o.config = v;
    else if (a == "--relax-batch") o.relax_batch = true;
    else if (a == "--json") o.json = true;
    else if (a == "--samples") { QB_ASSIGN_OR_RETURN(o.samples, FlagInt(a, v, 1)); }
    else if (a == "--seed") { QB_ASSIGN_OR_RETURN(o.seed, FlagInt(a, v, 0)); }
    else if (a == "--batch") { QB_ASSIGN_OR_RETURN(o.batch, FlagInt(a, v, 1)); }
    else if (a == "--iters") { QB_ASSIGN_OR_RETURN(o.iters, FlagInt(a, v, 1)); }
    else if (a == "--rounds") { QB_ASSIGN_OR_RETURN(o.rounds, FlagInt(a, v, 1)); }
    else if (a == "--warmup") { QB_ASSIGN_OR_RETURN(o.warmup, FlagInt(a, v, 0)); }
    else if (a == "--sub-batch") {
      if (v == "auto") o.sub_batch = SessionOptions::kAutoSubBatch;
      else if (v == "off") o.sub_batch = 0;
      else { QB_ASSIGN_OR_RETURN(o.sub_batch, FlagInt(a, v, 1)); }
    }
    else if (a == "--threads") {
      QB_ASSIGN_OR_RETURN(const int64_t t, FlagInt(a, v, 1));
      o.threads = static_cast<int>(t);
    } else if (a == "--help") {
      o.help = true;
      return o;
    }
  }
  if (o.model.empty() || o.calib.empty()) return absl::InvalidArgumentError("--model and --calib are required");
  if (o.data.empty()) o.data = o.calib;
  return o;
}

absl::StatusOr<quant::QuantConfig> ParseConfigArg(const std::string& text) {
  nlohmann::json j = text;
  if (!text.empty() && text.front() == '{') {
    j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return absl::InvalidArgumentError("--config: not valid JSON");
  }
  return quant::ParseConfig(j, "--config");
}

// With --relax-batch, a Reshape whose constant target shape starts with the model's fixed
// batch (e.g. [1, -1] before the classifier) pins the batch again. Its leading dim becomes
// 0 ("copy the input's dim 0"), the same reshape wherever dim 0 is the batch; CheckRelaxed
// then compares the relaxed model with the original on single samples. Returns the count.
int RelaxReshapes(Graph& g, int64_t fixed_batch) {
  // A leading 0 in place of the fixed batch, or nullopt when `t` is not such a target.
  const auto relaxed = [&](const Tensor& t) -> std::optional<Tensor> {
    if (t.dtype() != DType::kS64 || t.num_elements() < 2 || t.data<int64_t>()[0] != fixed_batch) return std::nullopt;
    std::vector<int64_t> dims(t.data<int64_t>(), t.data<int64_t>() + t.num_elements());
    dims[0] = 0;
    return Tensor::FromInt64s(t.shape(), dims);
  };
  int changed = 0;
  for (const Node& n : g.nodes) {
    if (n.op_type != "Reshape" || n.inputs.size() < 2 || n.inputs[1] < 0) continue;
    absl::StatusOr<int64_t> allowzero = n.attrs.GetInt("allowzero", 0);
    if (!allowzero.ok() || *allowzero != 0) continue;
    Value& shape = g.values[n.inputs[1]];
    if (shape.constant) {  // an initializer
      if (auto t = relaxed(*shape.constant)) {
        shape.constant = *std::move(t);
        ++changed;
      }
    } else if (shape.producer >= 0 && g.nodes[shape.producer].op_type == "Constant") {
      Node& c = g.nodes[shape.producer];
      absl::StatusOr<Tensor> value = c.attrs.GetTensor("value");
      if (!value.ok()) continue;
      if (auto t = relaxed(*value)) {
        c.attrs.Set("value", *std::move(t));
        ++changed;
      }
    }
  }
  return changed;
}

// The relaxed FP32 session against the model as published, sample by sample: each of the
// first (up to) 2 rows of `relaxed` on batch x must match the original on that sample alone.
absl::Status CheckRelaxed(const std::string& model, Session& relaxed, const Tensor& x, int threads) {
  QB_ASSIGN_OR_RETURN(Graph g, ImportOnnxFile(model));
  SessionOptions so;
  so.threads = threads;
  QB_ASSIGN_OR_RETURN(auto original, Session::Create(std::move(g), so));
  QB_ASSIGN_OR_RETURN(std::vector<Tensor> batch_out, relaxed.Run({x}));
  const int64_t per = x.num_elements() / x.dim(0);
  for (int64_t i = 0; i < std::min<int64_t>(2, x.dim(0)); ++i) {
    Shape one = x.shape();
    one[0] = 1;
    const Tensor xi = Tensor::WrapExternal(DType::kF32, one, const_cast<float*>(x.data<float>()) + i * per);
    QB_ASSIGN_OR_RETURN(std::vector<Tensor> want, original->Run({xi}));
    for (size_t k = 0; k < want.size(); ++k) {
      if (want[k].dtype() != DType::kF32 || batch_out[k].dtype() != DType::kF32) continue;
      const int64_t n = want[k].num_elements();
      if (batch_out[k].num_elements() != n * x.dim(0))
        return absl::FailedPreconditionError(absl::StrCat("--relax-batch: output ", k, " has ",
                                                          batch_out[k].num_elements(), " elements at batch ", x.dim(0),
                                                          ", ", n, " at batch 1"));
      const float* a = want[k].data<float>();
      const float* b = batch_out[k].data<float>() + i * n;
      for (int64_t e = 0; e < n; ++e)
        if (std::abs(a[e] - b[e]) > 1e-3f * (1 + std::abs(a[e])))
          return absl::FailedPreconditionError(absl::StrCat("--relax-batch: output ", k, " of sample ", i,
                                                            " differs from the original model at element ", e,
                                                            " (", b[e], " vs ", a[e], ")"));
    }
  }
  return absl::OkStatus();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : (v[(v.size() - 1) / 2] + v[v.size() / 2]) / 2;
}

// Median of `iters` timed runs; *min_ms takes the fastest run seen.
absl::StatusOr<double> TimeRuns(Session& session, const Tensor& x, int64_t iters, double* min_ms) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> ms;
  for (int64_t i = 0; i < iters; ++i) {
    const auto t0 = Clock::now();
    QB_RETURN_IF_ERROR(session.Run({x}).status());
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  for (double v : ms) *min_ms = std::min(*min_ms, v);
  return Median(std::move(ms));
}

struct Measured {
  std::string label;
  std::vector<double> round_ms;
  double median_ms = 0;
  double min_ms = 1e300;  // fastest single run (the least disturbed by other load)
  std::vector<StepTiming> steps;
};

nlohmann::json ToJson(const Measured& m) {
  nlohmann::json steps = nlohmann::json::array();
  for (const StepTiming& t : m.steps)
    steps.push_back({{"node", t.info.node},
                     {"op", t.info.op_type},
                     {"implementation", t.info.implementation},
                     {"median_ms", t.median_ms},
                     {"share", t.share}});
  return {{"median_ms", m.median_ms}, {"min_ms", m.min_ms}, {"round_medians_ms", m.round_ms}, {"steps", steps}};
}

void PrintTable(const Measured& m) {
  double sum = 0;
  for (const StepTiming& t : m.steps) sum += t.median_ms;
  std::printf("%s: median %.4f ms (median of %zu round medians), min %.4f ms; %zu steps, profiled sum %.4f ms\n",
              m.label.c_str(), m.median_ms, m.round_ms.size(), m.min_ms, m.steps.size(), sum);
  std::printf("  %-36s %-17s %-30s %10s %7s\n", "node", "op", "implementation", "median_ms", "share");
  for (const StepTiming& t : m.steps)
    std::printf("  %-36s %-17s %-30s %10.4f %6.1f%%\n", t.info.node.substr(0, 36).c_str(), t.info.op_type.c_str(),
                t.info.implementation.substr(0, 30).c_str(), t.median_ms, 100 * t.share);
  std::printf("\n");
}

absl::Status Profile(const Options& o) {
  QB_ASSIGN_OR_RETURN(const quant::QuantConfig config, ParseConfigArg(o.config));
  if (config.precision != quant::Precision::kInt)
    return absl::InvalidArgumentError(absl::StrCat("--config \"", config.name, "\": not an integer configuration"));
  QB_ASSIGN_OR_RETURN(Graph graph, ImportOnnxFile(o.model));
  if (graph.inputs.size() != 1)
    return absl::UnimplementedError(absl::StrCat(o.model, ": qbench-profile feeds models with one input"));
  Value& input = graph.values[graph.inputs[0]];
  int relaxed_reshapes = 0;
  if (o.relax_batch && input.has_shape && !input.shape.empty() && input.shape[0] != kDynamicDim) {
    relaxed_reshapes = RelaxReshapes(graph, input.shape[0]);
    input.shape[0] = kDynamicDim;
  }
  const Shape declared = input.shape;
  if (!declared.empty() && declared[0] != kDynamicDim && declared[0] != o.batch)
    return absl::InvalidArgumentError(absl::StrCat("--batch ", o.batch, ": ", o.model, " has a fixed batch of ",
                                                   declared[0], " (try --relax-batch)"));
  SessionOptions so;
  so.threads = o.threads;
  so.sub_batch = o.sub_batch;
  QB_ASSIGN_OR_RETURN(auto fp32, Session::Create(std::move(graph), so));

  const int loaders = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  quant::CalibrationData cal;
  if (config.needs_calibration()) {
    QB_ASSIGN_OR_RETURN(auto ds, data::OpenDataset(o.calib));
    quant::CalibrationOptions co{config.calibration_samples > 0 ? config.calibration_samples : o.samples,
                                 config.calibration_seed.value_or(static_cast<uint64_t>(o.seed)), 64, loaders};
    QB_ASSIGN_OR_RETURN(cal, quant::Calibrate(*fp32, *ds, o.calib, co));
  }
  QB_ASSIGN_OR_RETURN(quant::QuantizedModel qm, quant::QuantizeGraph(fp32->graph(), config, cal.histograms));
  QB_ASSIGN_OR_RETURN(auto int8, Session::Create(qm.graph, so));

  QB_ASSIGN_OR_RETURN(auto data, data::OpenDataset(o.data));
  std::vector<int64_t> idx(o.batch);
  for (int64_t i = 0; i < o.batch; ++i) idx[i] = i % data->size();
  QB_ASSIGN_OR_RETURN(Tensor x, data::LoadBatch(*data, idx, loaders));
  const absl::Status fp32_ok = fp32->Prepare({x.shape()});
  if (!fp32_ok.ok()) return Annotate(fp32_ok, o.relax_batch ? "--relax-batch: FP32 plan" : "FP32 plan");
  if (o.relax_batch) QB_RETURN_IF_ERROR(CheckRelaxed(o.model, *fp32, x, o.threads));
  const absl::Status int8_ok = int8->Prepare({x.shape()});
  if (!int8_ok.ok()) return Annotate(int8_ok, o.relax_batch ? "--relax-batch: quantized plan" : "quantized plan");

  Measured m[2];
  m[0].label = "FP32";
  m[1].label = config.name;
  Session* sessions[2] = {fp32.get(), int8.get()};
  for (int k = 0; k < 2; ++k)
    for (int64_t i = 0; i < o.warmup; ++i) QB_RETURN_IF_ERROR(sessions[k]->Run({x}).status());
  for (int64_t r = 0; r < o.rounds; ++r)
    for (int j = 0; j < 2; ++j) {
      const int k = (r % 2 == 0) ? j : 1 - j;
      QB_ASSIGN_OR_RETURN(const double ms, TimeRuns(*sessions[k], x, o.iters, &m[k].min_ms));
      m[k].round_ms.push_back(ms);
    }
  for (int k = 0; k < 2; ++k) {
    m[k].median_ms = Median(m[k].round_ms);
    QB_ASSIGN_OR_RETURN(m[k].steps, sessions[k]->Profile({x}, static_cast<int>(o.iters)));
  }
  const double ratio = m[0].median_ms > 0 ? m[1].median_ms / m[0].median_ms : 0;
  const std::string model = std::filesystem::path(o.model).filename().string();
  if (o.json) {
    nlohmann::json j = {{"model", model},      {"config", config.name},  {"batch", o.batch},
                        {"threads", o.threads}, {"iters", o.iters},       {"rounds", o.rounds},
                        {"relax_batch", o.relax_batch}, {"relaxed_reshapes", relaxed_reshapes},
                        {"calibration_samples", static_cast<int64_t>(cal.indices.size())},
                        {"fp32", ToJson(m[0])}, {"int8", ToJson(m[1])}, {"ratio", ratio}};
    std::printf("%s\n", j.dump().c_str());
    return absl::OkStatus();
  }
  std::printf("%s  batch %lld  threads %d  config %s  (%lld rounds x %lld runs, interleaved)\n\n", model.c_str(),
              static_cast<long long>(o.batch), o.threads, config.name.c_str(), static_cast<long long>(o.rounds),
              static_cast<long long>(o.iters));
  for (int k = 0; k < 2; ++k) {
    QB_ASSIGN_OR_RETURN(const BatchSplit split, sessions[k]->Split({x.shape()}));
    std::printf("%s: %s\n", m[k].label.c_str(), DescribeSplit(split).c_str());
  }
  std::printf("\n");
  PrintTable(m[0]);
  PrintTable(m[1]);
  std::printf("ratio %s/FP32: %.3f (%.4f / %.4f ms)\n", config.name.c_str(), ratio, m[1].median_ms, m[0].median_ms);
  return absl::OkStatus();
}

}  // namespace
}  // namespace qbench

int main(int argc, char** argv) {
  absl::StatusOr<qbench::Options> opts = qbench::ParseArgs(argc, argv);
  if (!opts.ok()) {
    std::fprintf(stderr, "qbench-profile: %s\n\n", std::string(opts.status().message()).c_str());
    qbench::Usage(stderr);
    return 2;
  }
  if (opts->help) {
    qbench::Usage(stdout);
    return 0;
  }
  absl::Status s;
  try {
    s = qbench::Profile(*opts);
  } catch (const std::exception& e) {
    s = absl::InternalError(absl::StrCat("unexpected error: ", e.what()));
  }
  if (!s.ok()) {
    std::fprintf(stderr, "qbench-profile: %s\n", std::string(s.message()).c_str());
    const bool usage = absl::IsInvalidArgument(s) || absl::IsNotFound(s);
    return usage ? 2 : 1;
  }
  return 0;
}
