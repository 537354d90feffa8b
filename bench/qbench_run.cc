// qbench-run: the engine side of the peer comparisons in bench/ (the counterpart of
// bench/ort/ort_run.js). Three jobs, each on plain .npy files so that both engines see
// byte-identical tensors:
//   dump   --dump-batch MANIFEST --first I --count N --out X.npy [--labels-out Y.npy]
//          writes N preprocessed dataset samples as one float32 array {N, sample...}, and
//          their labels as int64 {N} (-1: unlabelled)
//   run    --model M --input X.npy [--out-dir DIR]
//          runs the model on the whole array, writes each output as DIR/<name>.npy;
//          with --batch B, runs it in batches of B along axis 0 and concatenates the outputs
//          (a model with a fixed batch dim uses that instead, as ort_run.js --input-batch does)
//   time   --model M --input X.npy --time [--warmup W] [--iters I] [--min-seconds S]
//          after the run: W warm-up runs, then timed runs until both I runs and S seconds;
//          prints one JSON line (nearest-rank percentiles, the same fields as ort_run.js).
// Exit codes: 0 ok, 2 usage or input errors, 1 model or run failures.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/flags.h"
#include "common/status.h"
#include "engine/data/dataset.h"
#include "engine/data/npy.h"
#include "engine/measure/latency.h"
#include "engine/onnx/importer.h"
#include "engine/runtime/session.h"

namespace qbench {
namespace {

struct Options {
  std::string model, dump_manifest, out, input, out_dir, labels_out, times_out;
  int64_t first = 0, count = 1, batch = 0;
  int threads = 1;
  bool time = false, relax_batch = false, help = false;
  int64_t warmup = 5, iters = 50, max_iters = 0;
  double min_seconds = 1.0;
};

// One table drives both parsing and --help.
constexpr FlagSpec kFlags[] = {
    {"--model", "M", "ONNX model"},
    {"--dump-batch", "MANIFEST", "write dataset samples [first, first+count) to --out as one f32 .npy"},
    {"--first", "I", "first sample for --dump-batch (default 0)"},
    {"--count", "N", "number of samples for --dump-batch (default 1)"},
    {"--out", "FILE", "output .npy of --dump-batch"},
    {"--labels-out", "FILE", "with --dump-batch: the samples' labels as an int64 .npy"},
    {"--input", "FILE", "run the model on this f32 .npy (the whole array is one batch)"},
    {"--out-dir", "DIR", "write each model output as DIR/<output name>.npy"},
    {"--batch", "B", "run --input in batches of B along axis 0, concatenating the outputs"},
    {"--threads", "N", "oneDNN (OpenMP) threads (default 1)"},
    {"--relax-batch", nullptr, "make the model input's first dim dynamic before planning"},
    {"--time", nullptr, "time the model on --input; print one JSON line"},
    {"--warmup", "W", "warm-up runs before timing (default 5)"},
    {"--iters", "I", "timed runs, at least (default 50)"},
    {"--min-seconds", "S", "timed seconds, at least (default 1)"},
    {"--max-iters", "I", "timed runs, at most (default: no cap)"},
    {"--times-out", "FILE", "with --time: also write each timed run's milliseconds to FILE, one per line"},
    {"--help", nullptr, "show this help"},
};

void Usage(FILE* f) {
  std::fprintf(f,
               "usage: qbench-run --dump-batch MANIFEST [--model M] [--first I] [--count N] --out X.npy\n"
               "       qbench-run --model M --input X.npy [--out-dir DIR] [--batch B] [--threads N] [--relax-batch]\n"
               "                  [--time [--warmup W] [--iters I] [--min-seconds S]]\n\n");
  std::fputs(FlagHelp(kFlags).c_str(), f);
}

absl::StatusOr<Options> ParseArgs(int argc, char** argv) {
  Options o;
  QB_ASSIGN_OR_RETURN(auto flags, ParseFlags(argc, argv, kFlags));
  for (const auto& [a, v] : flags) {
    if (a == "--model") o.model = v;
    else if (a == "--dump-batch") o.dump_manifest = v;
    else if (a == "--out") o.out = v;
    else if (a == "--labels-out") o.labels_out = v;
    else if (a == "--input") o.input = v;
    else if (a == "--out-dir") o.out_dir = v;
    else if (a == "--relax-batch") o.relax_batch = true;
    else if (a == "--time") o.time = true;
    else if (a == "--times-out") o.times_out = v;
    else if (a == "--max-iters") { QB_ASSIGN_OR_RETURN(o.max_iters, FlagInt(a, v, 1)); }
    else if (a == "--first") { QB_ASSIGN_OR_RETURN(o.first, FlagInt(a, v, 0)); }
    else if (a == "--count") { QB_ASSIGN_OR_RETURN(o.count, FlagInt(a, v, 1)); }
    else if (a == "--batch") { QB_ASSIGN_OR_RETURN(o.batch, FlagInt(a, v, 1)); }
    else if (a == "--warmup") { QB_ASSIGN_OR_RETURN(o.warmup, FlagInt(a, v, 0)); }
    else if (a == "--iters") { QB_ASSIGN_OR_RETURN(o.iters, FlagInt(a, v, 1)); }
    else if (a == "--threads") {
      QB_ASSIGN_OR_RETURN(const int64_t t, FlagInt(a, v, 1));
      o.threads = static_cast<int>(t);
    } else if (a == "--min-seconds") {
      QB_ASSIGN_OR_RETURN(o.min_seconds, FlagDouble(a, v, 0));
    } else if (a == "--help") {
      o.help = true;
      return o;
    }
  }
  const bool dump = !o.dump_manifest.empty();
  if (dump && o.out.empty()) return absl::InvalidArgumentError("--dump-batch needs --out FILE.npy");
  if (dump && !o.input.empty()) return absl::InvalidArgumentError("--dump-batch and --input are separate jobs");
  if (!dump && (o.model.empty() || o.input.empty()))
    return absl::InvalidArgumentError("give --dump-batch MANIFEST --out X.npy, or --model M --input X.npy");
  if (!dump && o.out_dir.empty() && !o.time)
    return absl::InvalidArgumentError("--input needs --out-dir DIR, --time, or both");
  if (o.batch > 0 && (o.time || o.out_dir.empty()))
    return absl::InvalidArgumentError("--batch writes outputs (--out-dir) and cannot be combined with --time");
  return o;
}

// Output names can hold '/' or ':'; the same mapping as ort_run.js keeps files comparable.
std::string FileNameFor(const std::string& name) {
  std::string s = name;
  for (char& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) c = '_';
  return s + ".npy";
}

// Imports the model; with `relax_batch`, the first dim of every input becomes dynamic, so
// the planner re-derives every shape for the batch it is given (fails where the graph
// bakes in the batch, e.g. a Reshape to a constant [1, 256]).
absl::StatusOr<std::unique_ptr<Session>> OpenModel(const Options& o) {
  QB_ASSIGN_OR_RETURN(Graph graph, ImportOnnxFile(o.model));
  if (o.relax_batch)
    for (int v : graph.inputs) {
      Value& in = graph.values[v];
      if (in.has_shape && !in.shape.empty()) in.shape[0] = kDynamicDim;
    }
  SessionOptions options;
  options.threads = o.threads;
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(std::move(graph), options);
  if (!session.ok() && o.relax_batch)
    return Annotate(session.status(), "--relax-batch: the graph cannot take a dynamic batch");
  return session;
}

absl::Status DumpBatch(const Options& o) {
  QB_ASSIGN_OR_RETURN(auto ds, data::OpenDataset(o.dump_manifest));
  if (o.first + o.count > ds->size())
    return absl::OutOfRangeError(absl::StrCat(o.dump_manifest, ": samples [", o.first, ", ", o.first + o.count,
                                              ") asked, the dataset has ", ds->size()));
  if (!o.model.empty()) {  // check the samples fit the model's input (batch dim aside)
    QB_ASSIGN_OR_RETURN(auto session, OpenModel(o));
    const Shape declared = session->input_shape(0);
    Shape want(declared.begin() + (declared.empty() ? 0 : 1), declared.end());
    bool ok = want.size() == ds->sample_shape().size();
    for (size_t d = 0; ok && d < want.size(); ++d) ok = want[d] == kDynamicDim || want[d] == ds->sample_shape()[d];
    if (!ok)
      return absl::InvalidArgumentError(absl::StrCat(o.dump_manifest, " yields samples of shape ",
                                                     ShapeToString(ds->sample_shape()), " but ", o.model, " expects ",
                                                     ShapeToString(declared)));
  }
  std::vector<int64_t> idx(o.count);
  for (int64_t i = 0; i < o.count; ++i) idx[i] = o.first + i;
  const int loaders = std::max(1u, std::thread::hardware_concurrency());
  QB_ASSIGN_OR_RETURN(Tensor batch, data::LoadBatch(*ds, idx, loaders));
  if (!o.labels_out.empty()) {
    Tensor labels(DType::kS64, Shape{o.count});
    for (int64_t i = 0; i < o.count; ++i) labels.data<int64_t>()[i] = ds->label(idx[i]);
    QB_RETURN_IF_ERROR(data::WriteNpy(o.labels_out, labels));
  }
  return data::WriteNpy(o.out, batch);
}

absl::Status TimeModel(const Options& o, Session& session, const Tensor& input) {
  using Clock = std::chrono::steady_clock;
  const auto ms_since = [](Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  };
  for (int64_t i = 0; i < o.warmup; ++i) QB_RETURN_IF_ERROR(session.Run({input}).status());
  std::vector<double> ms;
  const auto start = Clock::now();
  while ((o.max_iters == 0 || static_cast<int64_t>(ms.size()) < o.max_iters) &&
         (static_cast<int64_t>(ms.size()) < o.iters || ms_since(start) < o.min_seconds * 1e3)) {
    const auto t0 = Clock::now();
    QB_RETURN_IF_ERROR(session.Run({input}).status());
    ms.push_back(ms_since(t0));
  }
  if (!o.times_out.empty()) {
    FILE* f = std::fopen(o.times_out.c_str(), "w");
    if (!f) return absl::InvalidArgumentError(absl::StrCat("--times-out ", o.times_out, ": cannot be written"));
    for (double v : ms) std::fprintf(f, "%.6f\n", v);
    if (std::fclose(f) != 0) return absl::InternalError(absl::StrCat("--times-out ", o.times_out, ": write failed"));
  }
  const LatencyStats s = Summarize(std::move(ms));
  const auto r = [](double v) { return std::round(v * 1e4) / 1e4; };
  std::printf(
      "{\"runtime\":\"qbench\",\"threads\":%d,\"iters\":%lld,\"median_ms\":%.4f,\"p90_ms\":%.4f,\"p99_ms\":%.4f,"
      "\"min_ms\":%.4f,\"mean_ms\":%.4f,\"batch\":%lld,\"relax_batch\":%s,\"model\":\"%s\"}\n",
      o.threads, static_cast<long long>(s.count), r(s.median_ms), r(s.p90_ms), r(s.p99_ms), r(s.min_ms), r(s.mean_ms),
      static_cast<long long>(input.rank() > 0 ? input.dim(0) : 1), o.relax_batch ? "true" : "false",
      std::filesystem::path(o.model).filename().string().c_str());
  std::fflush(stdout);
  return absl::OkStatus();
}

// Runs `input` whole (batch 0) or in slices of o.batch along axis 0, concatenating the
// outputs along axis 0. A static batch dim in the model overrides o.batch.
absl::StatusOr<std::vector<Tensor>> RunInBatches(const Options& o, Session& session, const Tensor& input) {
  const int64_t total = input.rank() > 0 ? input.dim(0) : 1;
  const Shape declared = session.input_shape(0);
  int64_t bs = o.batch > 0 ? o.batch : total;
  if (o.batch > 0 && !declared.empty() && declared[0] != kDynamicDim) bs = declared[0];
  if (o.batch > 0 && input.rank() == 0) return absl::InvalidArgumentError("--batch: a scalar input has no batch axis");
  std::vector<std::vector<Tensor>> parts;
  for (int64_t first = 0; first < total; first += bs) {
    const int64_t n = std::min(bs, total - first);
    Shape shape = input.shape();
    if (!shape.empty()) shape[0] = n;
    const int64_t per = shape.empty() ? 1 : input.num_elements() / std::max<int64_t>(total, 1);
    const Tensor slice = Tensor::WrapExternal(DType::kF32, shape,
                                              const_cast<float*>(input.data<float>()) + first * per);
    absl::StatusOr<std::vector<Tensor>> out = session.Run({slice});
    if (!out.ok())
      return Annotate(out.status(), absl::StrCat(o.relax_batch ? "--relax-batch: " : "", "input shape ",
                                                 ShapeToString(shape)));
    parts.push_back(*std::move(out));
  }
  if (parts.size() == 1) return parts[0];
  std::vector<Tensor> result;
  for (size_t i = 0; i < parts[0].size(); ++i) {
    Shape shape = parts[0][i].shape();
    if (shape.empty()) return absl::InvalidArgumentError("--batch: a scalar output cannot be concatenated");
    shape[0] = 0;
    for (const auto& p : parts) shape[0] += p[i].dim(0);
    Tensor t(parts[0][i].dtype(), shape);
    size_t offset = 0;
    for (const auto& p : parts) {
      std::memcpy(static_cast<uint8_t*>(t.raw()) + offset, p[i].raw(), p[i].nbytes());
      offset += p[i].nbytes();
    }
    result.push_back(std::move(t));
  }
  return result;
}

absl::Status RunModel(const Options& o) {
  QB_ASSIGN_OR_RETURN(Tensor input, data::ReadNpy(o.input));
  if (input.dtype() != DType::kF32)
    return absl::InvalidArgumentError(absl::StrCat(o.input, ": holds ", std::string(Name(input.dtype())),
                                                   ", qbench-run feeds float32 only"));
  QB_ASSIGN_OR_RETURN(auto session, OpenModel(o));
  if (session->input_names().size() != 1)
    return absl::UnimplementedError(absl::StrCat(o.model, ": qbench-run feeds models with one input, this one has ",
                                                 session->input_names().size()));
  QB_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, RunInBatches(o, *session, input));
  if (!o.out_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.out_dir, ec);
    if (ec) return absl::InvalidArgumentError(absl::StrCat(o.out_dir, ": cannot create (", ec.message(), ")"));
    const std::vector<std::string> names = session->output_names();
    for (size_t i = 0; i < outputs.size(); ++i) {
      Tensor t = outputs[i].dtype() == DType::kF32 ? outputs[i] : outputs[i].CastTo(DType::kF32);
      QB_RETURN_IF_ERROR(data::WriteNpy((std::filesystem::path(o.out_dir) / FileNameFor(names[i])).string(), t));
    }
  }
  if (o.time) QB_RETURN_IF_ERROR(TimeModel(o, *session, input));
  return absl::OkStatus();
}

}  // namespace
}  // namespace qbench

int main(int argc, char** argv) {
  absl::StatusOr<qbench::Options> opts = qbench::ParseArgs(argc, argv);
  if (!opts.ok()) {
    std::fprintf(stderr, "qbench-run: %s\n\n", std::string(opts.status().message()).c_str());
    qbench::Usage(stderr);
    return 2;
  }
  if (opts->help) {
    qbench::Usage(stdout);
    return 0;
  }
  absl::Status s;
  try {
    s = opts->dump_manifest.empty() ? qbench::RunModel(*opts) : qbench::DumpBatch(*opts);
  } catch (const std::exception& e) {  // e.g. std::bad_alloc on a huge --count
    s = absl::InternalError(absl::StrCat("unexpected error: ", e.what()));
  }
  if (!s.ok()) {
    std::fprintf(stderr, "qbench-run: %s\n", std::string(s.message()).c_str());
    const bool usage = absl::IsInvalidArgument(s) || absl::IsNotFound(s) || absl::IsOutOfRange(s);
    return usage ? 2 : 1;
  }
  return 0;
}
