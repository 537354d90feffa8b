// Attached devices (docs/devices.md): each configuration's ONNX form runs on every device
// the job selected, through the device's runner in a process of its own. The runner only
// computes outputs and times queries; the scoring (strict top-k, the paired delta against
// the same device's FP32 run), the agreement with the engine's run of the same
// configuration and the latency statistics are computed here, the same way as for the
// engine's own figures, so devices compare like for like.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "engine/data/npy.h"
#include "engine/device/process.h"
#include "engine/device/protocol.h"
#include "engine/pipeline/job_context.h"

namespace qbench::pipeline_internal {
namespace {

namespace fs = std::filesystem;

// A device's runs stay bounded whatever the spec's latency settings: result.json holds
// every time (docs/devices.md caps it at 4 MiB).
constexpr int64_t kMaxDeviceRuns = 100'000;

// Reads at most `cap` bytes of `path`; FAILED_PRECONDITION naming `name` (a path relative
// to the work directory, never the directory itself) when it is absent or larger.
absl::StatusOr<std::string> ReadCapped(const fs::path& path, const std::string& name, size_t cap) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::FailedPreconditionError(absl::StrCat("malformed output: ", name, " is missing"));
  std::string text(cap + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > cap)
    return absl::FailedPreconditionError(absl::StrCat("malformed output: ", name, " is larger than ", cap, " bytes"));
  return text;
}

// Links (or copies, across file systems) `from` to `to`.
absl::Status Place(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  fs::create_hard_link(from, to, ec);
  if (ec) fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) return absl::InternalError(absl::StrCat("device run: cannot place ", to.filename().string()));
  return absl::OkStatus();
}

// The test samples in evaluation batches and one batch per measured batch size, written
// once per job: every configuration and device reads the same bytes.
absl::Status PrepareInputs(JobContext& ctx) {
  if (ctx.device_inputs) return absl::OkStatus();
  auto in = std::make_unique<JobContext::DeviceInputs>();
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = absl::StrCat(tmp && *tmp ? tmp : "/tmp", "/qbench-devices-XXXXXX");
  if (!::mkdtemp(dir.data())) return absl::InternalError("device runs: cannot make a work directory");
  in->dir = dir;
  fs::create_directories(fs::path(dir) / "eval");
  fs::create_directories(fs::path(dir) / "time");
  const EvalOptions& o = ctx.eval_options;
  for (int64_t first = 0, k = 0; first < o.samples; first += o.batch, ++k) {
    const int64_t n = std::min(o.batch, o.samples - first);
    const std::vector<int64_t> idx = EvalBatchIndices(o, first, n);
    QB_ASSIGN_OR_RETURN(Tensor batch, data::LoadBatch(*ctx.eval, idx, ctx.loader_threads));
    char name[32];
    std::snprintf(name, sizeof(name), "eval/%06lld.npy", static_cast<long long>(k));
    QB_RETURN_IF_ERROR(data::WriteNpy((fs::path(dir) / name).string(), batch));
    in->eval.push_back(name);
    in->eval_rows.push_back(static_cast<int64_t>(idx.size()));
  }
  const Shape declared = ctx.fp32->input_shape(0);
  for (int64_t bs : ctx.spec.batch_sizes) {
    if (o.fixed_batch && bs != declared[0]) continue;
    std::vector<int64_t> idx(bs);
    for (int64_t i = 0; i < bs; ++i) idx[i] = i % ctx.eval->size();
    QB_ASSIGN_OR_RETURN(Tensor batch, data::LoadBatch(*ctx.eval, idx, ctx.loader_threads));
    const std::string name = absl::StrCat("time/b", bs, ".npy");
    QB_RETURN_IF_ERROR(data::WriteNpy((fs::path(dir) / name).string(), batch));
    in->timing.push_back({bs, name});
  }
  ctx.device_inputs = std::move(in);
  return absl::OkStatus();
}

device::RunnerRequest MakeRequest(const JobContext& ctx) {
  device::RunnerRequest req;
  req.input_name = ctx.fp32->input_names()[0];
  for (size_t k = 0; k < ctx.device_inputs->eval.size(); ++k) {
    char out[32];
    std::snprintf(out, sizeof(out), "out/%06zu.npy", k);
    req.eval.push_back({ctx.device_inputs->eval[k], out});
  }
  const LatencySpec& l = ctx.spec.latency;
  for (const auto& [bs, file] : ctx.device_inputs->timing) {
    device::TimingRequest t;
    t.batch_size = bs;
    t.input = file;
    t.warmup_runs = std::min(l.warmup_iters, kMaxDeviceRuns);
    t.warmup_seconds = l.warmup_seconds;
    t.min_runs = std::min(l.min_iters, kMaxDeviceRuns);
    t.max_runs = std::max(t.min_runs, std::min(l.max_iters, kMaxDeviceRuns));
    t.min_seconds = l.min_seconds;
    req.timing.push_back(t);
  }
  return req;
}

// Scores the runner's outputs (out/NNNNNN.npy) into d->accuracy.
absl::Status ScoreOutputs(JobContext& ctx, const fs::path& work, const device::RunnerRequest& req,
                          const ConfigResult& r, bool is_fp32, DeviceResult* d) {
  const EvalOptions& o = ctx.eval_options;
  const int64_t classes = o.samples > 0 ? static_cast<int64_t>(ctx.reference.outputs.size()) / o.samples : 0;
  auto ref_it = ctx.device_references.find(d->id);
  const Fp32Reference* reference = is_fp32 || ref_it == ctx.device_references.end() ? nullptr : &ref_it->second;
  Fp32Reference record;
  AccuracyScorer scorer(*ctx.eval, o, reference, is_fp32 ? &record : nullptr);
  for (size_t k = 0; k < req.eval.size(); ++k) {
    const int64_t rows = ctx.device_inputs->eval_rows[k];
    const int64_t first = static_cast<int64_t>(k) * o.batch;
    const int64_t n = std::min(o.batch, o.samples - first);
    const std::string& name = req.eval[k].output;
    QB_ASSIGN_OR_RETURN(std::string bytes, ReadCapped(work / name, name, rows * classes * 4 + (1 << 20)));
    auto t = data::ParseNpy(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), name);
    if (!t.ok()) return absl::FailedPreconditionError(absl::StrCat("malformed output: ", t.status().message()));
    if (t->dtype() != DType::kF32 || t->rank() < 1 || t->dim(0) != rows || t->num_elements() != rows * classes)
      return absl::FailedPreconditionError(
          absl::StrCat("malformed output: ", name, " is ", std::string(Name(t->dtype())), " ",
                       ShapeToString(t->shape()), ", expected float32 with ", rows, " rows of ", classes, " scores"));
    QB_RETURN_IF_ERROR(scorer.Add(t->data<float>(), n, classes, first));
  }
  QB_ASSIGN_OR_RETURN(d->accuracy, scorer.Finish(0));
  if (is_fp32) ctx.device_references[d->id] = std::move(record);
  else if (!reference) d->notes.push_back("no paired delta: this device's FP32 run failed");
  const std::vector<int32_t>& engine = r.accuracy.predicted;
  for (size_t i = 0; i < engine.size() && i < d->accuracy.predicted.size(); ++i)
    d->differs_from_engine += engine[i] != d->accuracy.predicted[i];
  return absl::OkStatus();
}

// One configuration on one device: the run directory, the runner, its result.
absl::Status RunOne(JobContext& ctx, const device::Device& dev, const std::string& model, const ConfigResult& r,
                    DeviceResult* d) {
  const fs::path work = fs::path(ctx.device_inputs->dir) / absl::StrCat("run-", ++ctx.device_inputs->runs);
  std::error_code ec;
  fs::create_directories(work / "out", ec);
  QB_RETURN_IF_ERROR(Place(model, work / "model.onnx"));
  for (const std::string& f : ctx.device_inputs->eval) QB_RETURN_IF_ERROR(Place(fs::path(ctx.device_inputs->dir) / f, work / f));
  for (const auto& [bs, f] : ctx.device_inputs->timing)
    QB_RETURN_IF_ERROR(Place(fs::path(ctx.device_inputs->dir) / f, work / f));
  const device::RunnerRequest req = MakeRequest(ctx);
  {
    std::ofstream out(work / "request.json");
    out << device::RequestJson(dev.def, req).dump(1) << "\n";
    if (!out) return absl::InternalError("device run: cannot write request.json");
  }
  std::vector<std::string> argv = dev.argv;
  argv.push_back((work / "request.json").string());
  // A cancelled job stops the runner within 100 ms rather than after its timeout.
  const auto cancelled = [&ctx] { return !ctx.CheckCancelled().ok(); };
  QB_ASSIGN_OR_RETURN(device::ProcessResult p, device::RunProcess(argv, work.string(), dev.def.timeout_s, 1 << 20,
                                                                  64 << 10, cancelled));
  if (p.stopped) return absl::CancelledError("the job was cancelled");
  d->seconds = p.seconds;
  d->log = p.err;
  if (!p.ok()) {
    std::string why = absl::StrCat("the runner ", p.Describe(dev.def.timeout_s));
    if (auto e = ReadCapped(work / "error.txt", "error.txt", 64 << 10); e.ok() && !e->empty()) {
      std::string said = device::CleanWord(*e, device::kMaxNoteBytes);
      while (!said.empty() && (said.back() == '?' || said.back() == ' ')) said.pop_back();  // trailing newlines
      absl::StrAppend(&why, ": ", said);
    }
    return absl::UnavailableError(why);
  }
  QB_ASSIGN_OR_RETURN(std::string text, ReadCapped(work / "result.json", "result.json", device::kMaxResultBytes));
  auto res = device::ParseRunnerResult(text, req);
  if (!res.ok()) return absl::FailedPreconditionError(res.status().message());
  d->runtime = res->runtime;
  d->version = res->version;
  d->provider = res->provider;
  d->notes.insert(d->notes.end(), res->notes.begin(), res->notes.end());
  QB_RETURN_IF_ERROR(ScoreOutputs(ctx, work, req, r, r.config.precision == quant::Precision::kFp32 &&
                                                         !ctx.device_references.count(d->id), d));
  for (const device::RunnerTiming& t : res->timings) {
    BatchLatency bl;
    bl.batch_size = t.batch_size;
    bl.stats = Summarize(t.ms);
    bl.stats.median_ci_method = absl::StrCat("one runner process: ", bl.stats.median_ci_method);
    bl.throughput_per_s = bl.stats.median_ms > 0 ? t.batch_size * 1e3 / bl.stats.median_ms : 0;
    if (t.energy_j) {
      bl.measured_joules_per_sample = *t.energy_j / static_cast<double>(t.ms.size() * t.batch_size);
      d->joules_per_sample = bl.measured_joules_per_sample;
      d->energy_meter = t.energy_meter;
    }
    d->latency.push_back(std::move(bl));
  }
  fs::remove_all(work, ec);  // kept on failure, for the lab to look at until the job ends
  return absl::OkStatus();
}

}  // namespace

JobContext::DeviceInputs::~DeviceInputs() {
  std::error_code ec;
  if (!dir.empty()) fs::remove_all(dir, ec);
}

absl::Status SelectDevices(JobContext& ctx, const std::vector<device::Device>& devices) {
  for (const std::string& sel : ctx.spec.devices) {
    bool found = false;
    for (const device::Device& d : devices) {
      if (!device::Selects(sel, d.def)) continue;
      found = true;
      bool listed = false;
      for (const device::Device* p : ctx.devices) listed = listed || p == &d;
      if (!listed) ctx.devices.push_back(&d);
    }
    if (!found) {
      std::vector<std::string> have;
      for (const device::Device& d : devices) have.push_back(absl::StrCat(d.def.id, " (", d.def.device_class, ")"));
      return absl::FailedPreconditionError(absl::StrCat(
          "job spec: device \"", sel, "\" is not attached to this worker (it has ",
          have.empty() ? "no attached devices" : absl::StrJoin(have, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> DeviceModelFile(JobContext& ctx, const std::string& config) {
  QB_RETURN_IF_ERROR(PrepareInputs(ctx));
  std::string file = config;
  for (char& ch : file)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_') ch = '_';
  const fs::path dir = fs::path(ctx.device_inputs->dir) / "models";
  std::error_code ec;
  fs::create_directories(dir, ec);
  return (dir / absl::StrCat(ctx.device_inputs->runs, "-", file, ".onnx")).string();
}

absl::Status RunOnDevices(JobContext& ctx, const absl::StatusOr<std::string>& model, ConfigResult* r) {
  if (ctx.devices.empty()) return absl::OkStatus();
  QB_RETURN_IF_ERROR(ctx.CheckCancelled());
  if (model.ok()) QB_RETURN_IF_ERROR(PrepareInputs(ctx));
  for (const device::Device* dev : ctx.devices) {
    QB_RETURN_IF_ERROR(ctx.CheckCancelled());
    DeviceResult d;
    d.id = dev->def.id;
    d.device_class = dev->def.device_class;
    d.runner = dev->def.runner;
    d.runtime = dev->runtime;
    d.version = dev->version;
    d.provider = dev->def.provider;
    const absl::Status s = model.ok() ? RunOne(ctx, *dev, *model, *r, &d) : model.status();
    if (absl::IsCancelled(s)) return s;  // the job stops; not a failure of the device
    if (!s.ok()) d.error = absl::StrCat("device ", d.id, " (", d.runner, "): ", s.message());
    r->devices.push_back(std::move(d));
  }
  return absl::OkStatus();
}

}  // namespace qbench::pipeline_internal
