#include "engine/kernels/onednn/int8_util.h"
#include "engine/pipeline/pipeline.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <set>
#include <filesystem>
#include <fstream>
#include <thread>

#include <dnnl.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status.h"
#include "engine/onnx/exporter.h"
#include "engine/quant/qparams.h"
#include "engine/onnx/importer.h"
#include "engine/pipeline/evaluate.h"
#include "engine/pipeline/job_context.h"
#include "engine/pipeline/split.h"
#include "engine/quant/calibrate.h"
#include "engine/quant/equalize.h"
#include "engine/quant/hessian.h"
#include "engine/quant/quantize_graph.h"
#include "engine/quant/sampler.h"
#include "engine/runtime/pinning.h"

namespace qbench {
namespace pipeline_internal {

using Clock = std::chrono::steady_clock;

// What QuantizeGraph gets for configurations without calibration (dynamic activations).
const std::map<int, quant::Histogram> kNoHistograms{};

bool HasBf16() {
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}


absl::Status MeasureAll(JobContext& ctx, Session& session, ConfigResult* r, bool is_fp32) {
  QB_RETURN_IF_ERROR(ctx.CheckCancelled());
  // The test samples, then the validation samples, as one evaluating stage.
  const int64_t test_n = ctx.eval_options.samples, val_n = ctx.val ? ctx.val_options.samples : 0;
  ctx.Progress(RunStage::kEvaluating, 0, test_n + val_n);
  QB_ASSIGN_OR_RETURN(r->accuracy,
                      EvaluateAccuracy(session, *ctx.eval, ctx.Tracked(ctx.eval_options, RunStage::kEvaluating, 0, test_n + val_n),
                                       is_fp32 ? nullptr : &ctx.reference, is_fp32 ? &ctx.reference : nullptr));
  if (ctx.val) {
    QB_RETURN_IF_ERROR(ctx.CheckCancelled());
    QB_ASSIGN_OR_RETURN(r->validation, EvaluateAccuracy(session, *ctx.val,
                                                        ctx.Tracked(ctx.val_options, RunStage::kEvaluating, test_n,
                                                                    test_n + val_n),
                                                        is_fp32 ? nullptr : &ctx.val_reference,
                                                        is_fp32 ? &ctx.val_reference : nullptr));
  }
  ctx.Progress(RunStage::kEvaluating, test_n + val_n, test_n + val_n);
  const Shape declared = session.input_shape(0);
  std::vector<int64_t> sizes;
  for (int64_t bs : ctx.spec.batch_sizes)
    if (!ctx.eval_options.fixed_batch || bs == declared[0]) sizes.push_back(bs);
  // Progress in (session, batch size) steps.
  const int64_t steps = std::max<int64_t>(1, static_cast<int64_t>(sizes.size()) * ctx.spec.latency.sessions);
  QB_RETURN_IF_ERROR(ctx.CheckCancelled());
  ctx.Progress(RunStage::kBenchmarking, 0, steps);
  if (!sizes.empty()) {
    const auto on_step = [&ctx](int64_t done, int64_t total) {
      ctx.Progress(RunStage::kBenchmarking, done, total);
      return ctx.CheckCancelled();
    };
    QB_ASSIGN_OR_RETURN(r->latency, MeasureLatency(session, *ctx.eval, sizes, ctx.spec.latency, ctx.loader_threads,
                                                   ctx.rapl ? &*ctx.rapl : nullptr, ctx.idle_watts, on_step, ctx.Poll()));
    for (const BatchLatency& b : r->latency)
      if (b.split.pieces() > 1) r->notes.push_back(absl::StrCat("latency: ", DescribeSplit(b.split)));
  }
  const OfflineSpec& off = ctx.spec.offline;
  if (off.batch_size > 0 && (!ctx.eval_options.fixed_batch || off.batch_size == declared[0])) {
    QB_RETURN_IF_ERROR(ctx.CheckCancelled());
    QB_ASSIGN_OR_RETURN(OfflineResult o, MeasureOffline(session, *ctx.eval, off, ctx.loader_threads, ctx.Poll()));
    const auto [lo, hi] = std::minmax_element(o.pass_throughput.begin(), o.pass_throughput.end());
    r->notes.push_back(absl::StrFormat(
        "offline scenario: %d distinct preloaded samples in batches of %d back to back, %d passes after a warm-up "
        "pass: median %.1f samples/s (passes %.1f-%.1f)",
        o.samples, o.batch_size, static_cast<int>(o.pass_throughput.size()), o.median_throughput, *lo, *hi));
    r->offline = std::move(o);
  }
  ctx.Progress(RunStage::kBenchmarking, steps, steps);
  r->planned_nodes = static_cast<int64_t>(session.graph().nodes.size());
  if (!r->latency.empty() && ctx.spec.profile_iters > 0) {
    const int64_t bs = r->latency.back().batch_size;
    std::vector<int64_t> idx(bs);
    for (int64_t i = 0; i < bs; ++i) idx[i] = i % ctx.eval->size();
    QB_ASSIGN_OR_RETURN(Tensor batch, data::LoadBatch(*ctx.eval, idx, ctx.loader_threads));
    QB_ASSIGN_OR_RETURN(r->profile, session.Profile({batch}, ctx.spec.profile_iters));
    r->profile_batch = bs;
  }
  r->energy.ops = CountOps(session.graph(), r->model_bytes);
  r->energy.modeled = ModelEnergy(r->energy.ops);
  r->energy.measured_source = ctx.rapl_status;
  if (!r->latency.empty() && r->latency.back().measured_joules_per_sample)
    r->energy.measured_joules = r->latency.back().measured_joules_per_sample;
  return absl::OkStatus();
}

// The FP32 session a configuration quantizes: the model itself, or its equalized twin.
absl::StatusOr<Session*> BaseSession(JobContext& ctx, const quant::QuantConfig& c) {
  if (!c.equalization) return ctx.fp32.get();
  if (!ctx.equalized) {
    Graph g = ctx.fp32->graph();
    QB_ASSIGN_OR_RETURN(ctx.equalized_pairs, quant::EqualizeConvChains(g));
    QB_ASSIGN_OR_RETURN(ctx.equalized, Session::Create(std::move(g), ctx.options));
  }
  return ctx.equalized.get();
}

absl::StatusOr<const quant::CalibrationData*> CalibrationFor(JobContext& ctx, const quant::QuantConfig& c) {
  const int64_t samples = c.calibration_samples > 0 ? c.calibration_samples : ctx.spec.calibration_samples;
  const uint64_t seed = c.calibration_seed.value_or(ctx.spec.seed);
  auto key = std::make_tuple(samples, seed, c.equalization);
  auto it = ctx.calibrations.find(key);
  if (it != ctx.calibrations.end()) return &it->second;
  if (!ctx.calib) {
    QB_ASSIGN_OR_RETURN(ctx.calib, data::OpenDataset(ctx.spec.calibration_dataset));
  }
  QB_RETURN_IF_ERROR(ctx.CheckCancelled());
  ctx.Progress(RunStage::kCalibrating, 0, samples);
  quant::CalibrationOptions o{samples, seed, ctx.spec.calibration_batch_size, ctx.loader_threads};
  QB_ASSIGN_OR_RETURN(Session * base, BaseSession(ctx, c));
  QB_ASSIGN_OR_RETURN(quant::CalibrationData d, quant::Calibrate(*base, *ctx.calib, ctx.spec.calibration_dataset, o));
  ctx.Progress(RunStage::kCalibrating, samples, samples);
  return &(ctx.calibrations[key] = std::move(d));
}

// The input Hessians of every Conv/Gemm of the configuration's FP32 model, over its
// calibration samples (one more streaming pass, cached like the calibration).
absl::StatusOr<const quant::HessianSet*> HessiansFor(JobContext& ctx, const quant::QuantConfig& c,
                                                     const quant::CalibrationData& cal) {
  const int64_t samples = c.calibration_samples > 0 ? c.calibration_samples : ctx.spec.calibration_samples;
  auto key = std::make_tuple(samples, c.calibration_seed.value_or(ctx.spec.seed), c.equalization);
  auto it = ctx.hessians.find(key);
  if (it != ctx.hessians.end()) return &it->second;
  QB_ASSIGN_OR_RETURN(Session * base, BaseSession(ctx, c));
  std::set<int> layers;
  for (int i = 0; i < static_cast<int>(base->graph().nodes.size()); ++i) layers.insert(i);
  QB_ASSIGN_OR_RETURN(quant::HessianSet h, quant::CollectHessians(*base, *ctx.calib, cal.indices,
                                                                   ctx.spec.calibration_batch_size, ctx.loader_threads,
                                                                   layers));
  return &(ctx.hessians[key] = std::move(h));
}

// Sequential rounding from quantized inputs: layers go in steps, each step the layers
// whose upstream Conv/Gemm layers are all rounded. The model is built with those rounded
// (nearest elsewhere), run beside FP32 on the calibration samples, and the step's layers
// get the Hessians of the inputs it feeds them, then are rounded (and cached) in turn.
absl::StatusOr<quant::HessianSet> SequentialHessians(JobContext& ctx, Session& base, const quant::QuantConfig& c,
                                                    const quant::CalibrationData& cal, quant::RoundingCache* cache,
                                                    int* steps) {
  const Graph& g = base.graph();
  const int n = static_cast<int>(g.nodes.size());
  const auto is_layer = [&](int i) { return g.nodes[i].op_type == "Conv" || g.nodes[i].op_type == "Gemm"; };
  std::vector<std::set<int>> upstream(n);  // Conv/Gemm nodes each node's inputs depend on
  std::set<int> pending;
  for (int i = 0; i < n; ++i) {
    for (int v : g.nodes[i].inputs) {
      const int p = v >= 0 ? g.values[v].producer : -1;
      if (p < 0) continue;
      upstream[i].insert(upstream[p].begin(), upstream[p].end());
      if (is_layer(p)) upstream[i].insert(p);
    }
    if (is_layer(i)) pending.insert(i);
  }
  quant::HessianSet all;
  std::set<int> done;
  *steps = 0;
  while (!pending.empty()) {
    QB_RETURN_IF_ERROR(ctx.CheckCancelled());
    std::set<int> step;
    for (int i : pending)
      if (std::includes(done.begin(), done.end(), upstream[i].begin(), upstream[i].end())) step.insert(i);
    if (step.empty()) return absl::InternalError("sequential rounding: the layers form a cycle");
    QB_ASSIGN_OR_RETURN(quant::QuantizedModel qm,
                        quant::QuantizeGraph(g, c, cal.histograms, &cal.channel_means, &all, cache));
    const std::map<int, int> twins = qm.twins;
    const std::map<int, QuantParams> params = qm.activations;
    QB_ASSIGN_OR_RETURN(auto session, Session::Create(std::move(qm.graph), ctx.options));
    QB_ASSIGN_OR_RETURN(quant::HessianSet hs,
                        quant::CollectQuantizedInputHessians(base, *session, twins, params, *ctx.calib, cal.indices,
                                                             ctx.spec.calibration_batch_size, ctx.loader_threads,
                                                             step));
    for (auto& [id, h] : hs.layers) all.layers[id] = std::move(h);
    for (auto& [id, why] : hs.skipped) all.skipped[id] = std::move(why);
    all.seconds += hs.seconds;
    for (int i : step) {
      pending.erase(i);
      done.insert(i);
    }
    ++*steps;
  }
  return all;
}

// What the rounding did, for the notes: methods, layers, time, and the mean SQNR gain.
void AddRoundingNotes(const quant::HessianSet& h, const std::vector<quant::LayerReport>& layers, ConfigResult* r) {
  std::map<std::string, int> count;
  double seconds = 0, gain = 0;
  int gained = 0;
  for (const quant::LayerReport& l : layers) {
    if (!l.quantized) continue;
    ++count[std::string(quant::RoundingOf(l.rounding).name)];
    seconds += l.rounding_seconds;
    if (l.rounding != quant::Rounding::kNearest && std::isfinite(l.rounding_sqnr_db) &&
        std::isfinite(l.nearest_sqnr_db)) {
      gain += l.rounding_sqnr_db - l.nearest_sqnr_db;
      ++gained;
    }
  }
  std::string methods;
  for (const auto& [name, n] : count) absl::StrAppend(&methods, methods.empty() ? "" : ", ", n, " ", name);
  r->notes.push_back(absl::StrFormat(
      "weight rounding: %s layers; %.2f s rounding, %.2f s for the input Hessians (H = sum x x^T over the "
      "calibration samples' FP32 layer inputs)%s",
      methods, seconds, h.seconds,
      gained ? absl::StrFormat("; layer output SQNR on the calibration inputs +%.2f dB over nearest rounding on "
                               "average",
                               gain / gained)
             : std::string()));
  for (const quant::LayerReport& l : layers)
    if (!l.rounding_note.empty()) r->notes.push_back(absl::StrCat("layer ", l.node, ": ", l.rounding_note));
}

absl::Status RunBf16(JobContext& ctx, ConfigResult* r) {
  if (!HasBf16())
    return absl::FailedPreconditionError(
        "bf16: this CPU has no native bfloat16 support (oneDNN ISA below avx512_core_bf16); not run rather than emulated");
  Graph g = ctx.fp32->graph();
  int64_t bytes = 0;
  for (Node& n : g.nodes) {
    if (n.op_type != "Conv" && n.op_type != "Gemm" && n.op_type != "MatMul") continue;
    n.attrs.Set("__bf16", int64_t{1});
  }
  for (const Node& n : g.nodes)
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const int v = n.inputs[i];
      if (v < 0 || !g.values[v].constant) continue;
      const bool weight = i == 1 && n.attrs.Has("__bf16");
      bytes += weight ? g.values[v].constant->num_elements() * 2 : static_cast<int64_t>(g.values[v].constant->nbytes());
    }
  QB_ASSIGN_OR_RETURN(auto session, Session::Create(std::move(g), ctx.options));
  r->model_bytes = bytes;
  r->size_method = "Conv/Gemm/MatMul weights in bfloat16, other constants float32";
  r->notes.push_back("bf16: Conv, Gemm and MatMul take bfloat16 inputs and weights and accumulate in float32 "
                     "(oneDNN); other ops run in float32");
  return MeasureAll(ctx, *session, r, false);
}

// Maps a quantized session's observed values to FP32 value ids as float tensors.
ValueMapper MakeMapper(int fp32_values, std::map<int, int> twins, std::map<int, QuantParams> params) {
  return [=](int v, const Tensor& t, int* id, Tensor* f) {
    if (v < fp32_values && t.dtype() == DType::kF32) {
      *id = v;
      *f = t;
      return true;
    }
    auto tw = twins.find(v);
    if (tw == twins.end()) return false;
    auto p = params.find(tw->second);
    if (p == params.end()) return false;
    auto d = quant::DequantizeTensor(t, p->second);
    if (!d.ok()) return false;
    *id = tw->second;
    *f = *std::move(d);
    return true;
  };
}

// The sensitivity table: each layer quantized alone (every other Conv/Gemm kept in
// float, so the layer sees FP32's input), with its own output SQNR and the model
// output's SQNR. Costs one quantized model per layer over the SQNR samples.
absl::Status IsolatedSensitivity(JobContext& ctx, Session& base, const quant::CalibrationData* cal,
                                 const quant::HessianSet* hessians, const EvalOptions& eo, ConfigResult* r) {
  const int out_id = base.graph().outputs[0];
  const int fp32_values = static_cast<int>(base.graph().values.size());
  for (LayerResult& l : r->layers) {
    if (!l.quantized) continue;
    quant::QuantConfig only = r->config;
    for (const LayerResult& other : r->layers)
      if (other.quantized && other.node != l.node) {
        quant::LayerOverride keep_float;
        keep_float.node = other.node;
        keep_float.fp32 = true;
        only.overrides.push_back(keep_float);
      }
    QB_ASSIGN_OR_RETURN(quant::QuantizedModel qm,
                        quant::QuantizeGraph(base.graph(), only, cal ? cal->histograms : kNoHistograms,
                                             cal ? &cal->channel_means : nullptr, hessians));
    int layer_out = -1;
    for (const auto& rep : qm.layers)
      if (rep.node == l.node) layer_out = rep.output_value;
    const ValueMapper mapper = MakeMapper(fp32_values, qm.twins, qm.activations);
    QB_ASSIGN_OR_RETURN(auto s, Session::Create(std::move(qm.graph), ctx.options));
    QB_RETURN_IF_ERROR(ctx.CheckCancelled());
    QB_ASSIGN_OR_RETURN(auto db, LayerSqnr(base, *s, *ctx.eval, eo, {layer_out, out_id}, mapper));
    l.isolated_sqnr_db = db[layer_out];
    l.isolated_output_sqnr_db = db[out_id];
  }
  return absl::OkStatus();
}

// Says when calibration read the data the figures come from: the test samples (the test
// figures are then optimistic by what calibration fitted) or the validation samples.
void AddCalibrationOverlapNotes(const JobContext& ctx, const quant::CalibrationData& cal, ConfigResult* r) {
  const EvaluationSplit& sp = ctx.split;
  const int64_t m = static_cast<int64_t>(cal.indices.size());
  if (sp.calibration_is_eval_data) {
    const int64_t k = CountIn(cal.indices, sp.test_indices);
    r->notes.push_back(k > 0 ? absl::StrCat("calibration and evaluation read the same data: ", k, " of the ", m,
                                            " calibration samples are test samples, so the test figures may be "
                                            "optimistic; calibrate on training data, or split with \"validation\"")
                             : absl::StrCat("calibration and evaluation read the same data, but none of the ", m,
                                            " calibration samples is a test sample"));
  }
  const bool val_is_calib = sp.mode == "holdout" ? sp.calibration_is_eval_data
                            : sp.mode == "dataset" ? SameDataset(sp.validation_dataset, ctx.spec.calibration_dataset)
                                                   : false;
  if (val_is_calib) {
    const int64_t k = CountIn(cal.indices, sp.validation_indices);
    if (k > 0)
      r->notes.push_back(absl::StrCat(k, " of the ", m, " calibration samples are also validation samples"));
  }
}

// On a CPU whose int8 kernels are exact only for 7-bit weights, 8-bit weights become
// 7-bit ones (and say so): the result is then what the integer model really computes,
// and its QDQ export carries the same 7-bit weights. The reference backend is exact.
void FitWeightsToKernels(const JobContext& ctx, ConfigResult* r) {
  if (ctx.options.backend != Backend::kOneDnn) return;
  const int bits = Int8ExactWeightBits();
  if (quant::LimitWeightBits(&r->config, bits))
    r->notes.push_back(absl::StrCat("weights limited to ", bits,
                                    " bits: this CPU's int8 kernels have no VNNI, and their u8 x s8 products "
                                    "saturate in int16 with 8-bit weights (the result would not be the model's)"));
}

absl::Status RunInt(JobContext& ctx, ConfigResult* r) {
  FitWeightsToKernels(ctx, r);
  const quant::QuantConfig& c = r->config;
  const quant::CalibrationData* cal = nullptr;
  if (c.needs_calibration() || c.needs_hessians()) {
    QB_ASSIGN_OR_RETURN(cal, CalibrationFor(ctx, c));
    r->calibration_seconds = cal->seconds;
    r->calibration_samples = static_cast<int64_t>(cal->indices.size());
    r->calibration_sha256 = cal->indices_sha256;
    AddCalibrationOverlapNotes(ctx, *cal, r);
  }
  QB_RETURN_IF_ERROR(ctx.CheckCancelled());
  ctx.Progress(RunStage::kQuantizing, 0, 1);
  const auto q0 = Clock::now();
  QB_ASSIGN_OR_RETURN(Session * base, BaseSession(ctx, c));
  const quant::HessianSet* hessians = nullptr;
  std::optional<quant::HessianSet> sequential;  // quantized inputs: this configuration's own
  quant::RoundingCache cache;
  int steps = 0;
  if (c.needs_hessians() && c.rounding.quantized_inputs && !c.activations.dynamic) {
    QB_ASSIGN_OR_RETURN(sequential, SequentialHessians(ctx, *base, c, *cal, &cache, &steps));
    hessians = &*sequential;
    r->notes.push_back(absl::StrCat("weight rounding from quantized inputs: ", steps,
                                    " steps, each one calibration pass of the model with the layers before rounded"));
  } else if (c.needs_hessians()) {
    if (c.rounding.quantized_inputs)
      r->notes.push_back("weight rounding read FP32's layer inputs: quantized inputs need static activations");
    QB_ASSIGN_OR_RETURN(hessians, HessiansFor(ctx, c, *cal));
  }
  if (c.equalization)
    r->notes.push_back(absl::StrCat("cross-layer equalization rescaled ", ctx.equalized_pairs,
                                    " Conv pairs before calibration (per-layer SQNR compares with the equalized FP32 "
                                    "model, which computes the same function)"));
  QB_ASSIGN_OR_RETURN(quant::QuantizedModel qm,
                      quant::QuantizeGraph(base->graph(), c, cal ? cal->histograms : kNoHistograms,
                                           cal ? &cal->channel_means : nullptr, hessians,
                                           sequential ? &cache : nullptr));
  if (hessians) AddRoundingNotes(*hessians, qm.layers, r);
  if (c.bias_correction)
    r->notes.push_back("bias correction: each quantized layer's bias is shifted by -sum_k (W_q - W)[c, k] E[x_k], "
                       "with E[x_k] from the calibration pass");
  if (!c.activations.dynamic)
    r->notes.push_back("biases sit on the int32 grid of scale s_x * s_w[c], as integer runtimes hold them");
  r->model_bytes = qm.packed_bytes;
  r->params_sha256 = quant::ParamsSha256(qm);
  r->size_method = absl::StrCat("weights packed at ", c.weights.bits, " bits (per-layer overrides applied), ",
                                "4-byte scales and 1-byte zero points, float32 biases and float layers");
  if (c.weights.bits < 8 || c.activations.bits < 8)
    r->notes.push_back("sub-8-bit values are stored on their n-bit grid inside int8 and run on the int8 kernels: "
                       "accuracy is exactly n-bit, speed is int8's, size is the packed n-bit size");
  if (!ctx.spec.export_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(ctx.spec.export_dir, ec);
    std::string file = c.name;
    for (char& ch : file)
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.') ch = '_';
    const std::string path = (std::filesystem::path(ctx.spec.export_dir) / (file + ".onnx")).string();
    QB_RETURN_IF_ERROR(ExportOnnx(qm.graph, path));
    r->exported = path;
  }
  // The devices run the same QDQ export (an export failure fails the devices only).
  absl::StatusOr<std::string> device_model = absl::UnavailableError("no device");
  if (!ctx.devices.empty()) {
    device_model = r->exported.empty() ? DeviceModelFile(ctx, c.name) : absl::StatusOr<std::string>(r->exported);
    if (device_model.ok() && r->exported.empty())
      if (absl::Status s = ExportOnnx(qm.graph, *device_model); !s.ok())
        device_model = absl::InternalError(absl::StrCat("the QDQ export failed: ", s.message()));
  }
  const std::map<int, int> twins = qm.twins;
  const std::map<int, QuantParams> params = qm.activations;
  const std::vector<quant::LayerReport> layers = qm.layers;
  QB_ASSIGN_OR_RETURN(auto session, Session::Create(std::move(qm.graph), ctx.options));
  r->quantize_seconds = std::chrono::duration<double>(Clock::now() - q0).count();
  ctx.Progress(RunStage::kQuantizing, 1, 1);
  QB_RETURN_IF_ERROR(MeasureAll(ctx, *session, r, false));

  // Per-layer SQNR in the full quantized model: each layer output (in float, or its
  // quantized twin dequantized) against FP32's on the same model inputs.
  const int fp32_values = static_cast<int>(base->graph().values.size());
  std::vector<int> ids;
  for (const auto& l : layers) ids.push_back(l.output_value);
  EvalOptions eo = ctx.eval_options;
  eo.samples = std::min(ctx.spec.sqnr_samples, eo.samples);
  std::map<int, double> sqnr;
  if (eo.samples > 0) {
    QB_ASSIGN_OR_RETURN(sqnr, LayerSqnr(*base, *session, *ctx.eval, ctx.Tracked(eo, RunStage::kEvaluating), ids,
                                        MakeMapper(fp32_values, twins, params)));
  }
  for (const auto& l : layers) {
    LayerResult lr{l.node, l.op_type, l.quantized, l.reason, l.weight_bits, l.activation_bits,
                   sqnr.count(l.output_value) ? sqnr[l.output_value] : 0};
    lr.rounding = quant::RoundingOf(l.rounding).name;
    lr.rounding_seconds = l.rounding_seconds;
    lr.rounding_sqnr_db = l.rounding_sqnr_db;
    lr.nearest_sqnr_db = l.nearest_sqnr_db;
    r->layers.push_back(lr);
  }
  if (eo.samples > 0 && ctx.spec.sensitivity) QB_RETURN_IF_ERROR(IsolatedSensitivity(ctx, *base, cal, hessians, eo, r));
  return RunOnDevices(ctx, device_model, r);
}

// The test and validation samples (pipeline/split.h) and the options that evaluate them.
absl::Status OpenEvaluationSplit(JobContext& ctx, int64_t total, int64_t eval_batch, bool fixed_batch) {
  const ValidationSpec& v = ctx.spec.validation;
  int64_t val_size = 0;
  if (v.enabled() && !v.dataset.empty() && !SameDataset(v.dataset, ctx.spec.eval_dataset)) {
    QB_ASSIGN_OR_RETURN(ctx.val_owned, data::OpenDataset(v.dataset));
    if (ctx.val_owned->sample_shape() != ctx.eval->sample_shape())
      return absl::InvalidArgumentError(absl::StrCat(
          "validation dataset ", v.dataset, " yields samples of shape ", ShapeToString(ctx.val_owned->sample_shape()),
          " but the evaluation dataset's are ", ShapeToString(ctx.eval->sample_shape())));
    val_size = ctx.val_owned->size();
  }
  QB_ASSIGN_OR_RETURN(ctx.split, MakeEvaluationSplit(ctx.spec, total, val_size));
  if (ctx.split.calibration_is_eval_data)  // the job-level calibration set (configurations may override it)
    ctx.split.calibration_test_overlap =
        CountIn(quant::SampleIndices(ctx.eval->size(), std::min(ctx.spec.calibration_samples, ctx.eval->size()),
                                     ctx.spec.seed),
                ctx.split.test_indices);
  ctx.eval_options = {static_cast<int64_t>(ctx.split.test_indices.size()), &ctx.split.test_indices, eval_batch,
                      fixed_batch, ctx.loader_threads, nullptr};
  if (!ctx.split.validation_indices.empty()) {
    ctx.val = ctx.val_owned ? ctx.val_owned.get() : ctx.eval.get();
    ctx.val_options = ctx.eval_options;
    ctx.val_options.samples = static_cast<int64_t>(ctx.split.validation_indices.size());
    ctx.val_options.indices = &ctx.split.validation_indices;
  }
  return absl::OkStatus();
}

}  // namespace pipeline_internal

using namespace pipeline_internal;

const char* RunStageName(RunStage stage) {
  static constexpr const char* kNames[] = {"calibrating", "quantizing", "evaluating", "benchmarking"};
  return kNames[static_cast<int>(stage)];
}

absl::StatusOr<JobResult> RunJob(const JobSpec& spec, const RunHooks& hooks,
                                 const std::vector<device::Device>& devices) {
  JobResult r;
  r.spec = spec;
  r.env = DescribeEnvironment(spec.threads);
  // Pinned for the whole job (the destructor unpins when RunJob returns).
  std::unique_ptr<ThreadPinning> pinning;
  if (spec.pin_threads) {
    QB_ASSIGN_OR_RETURN(pinning, ThreadPinning::Pin(spec.threads));
    r.env.pinning = absl::StrCat(pinning->Describe(), "; ", r.env.pinning);
  }
  r.model_name = std::filesystem::path(spec.model).filename().string();
  std::error_code ec;
  r.model_bytes = static_cast<int64_t>(std::filesystem::file_size(spec.model, ec));
  QB_ASSIGN_OR_RETURN(Graph graph, ImportOnnxFile(spec.model));
  r.model_nodes = static_cast<int64_t>(graph.nodes.size());
  if (graph.inputs.size() != 1)
    return absl::UnimplementedError(absl::StrCat(spec.model, ": the runner feeds models with one input, this one has ",
                                                 graph.inputs.size()));
  const int64_t float_bytes = quant::FloatModelBytes(graph);
  JobContext ctx(spec);
  ctx.hooks = &hooks;
  QB_RETURN_IF_ERROR(SelectDevices(ctx, devices));
  ctx.options.backend = spec.backend;
  ctx.options.threads = spec.threads;
  ctx.options.sub_batch = spec.sub_batch;
  ctx.loader_threads = std::max(1u, std::thread::hardware_concurrency());
  // Measured energy where RAPL is readable: the idle draw over half a second first.
  if (auto rapl = RaplMeter::Open(); rapl.ok()) {
    auto e0 = rapl->Read();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto e1 = rapl->Read();
    if (e0.ok() && e1.ok()) {
      double joules = 0;
      for (double j : rapl->Joules(*e0, *e1)) joules += j;
      ctx.idle_watts = joules / 0.5;
      std::string names;
      for (const RaplDomain& d : rapl->domains()) absl::StrAppend(&names, names.empty() ? "" : ", ", d.name);
      ctx.rapl_status = absl::StrCat("measured: RAPL (", names, ") over the timed loop of the largest batch, idle ",
                                     ctx.idle_watts, " W subtracted");
      ctx.rapl = *std::move(rapl);
    }
  } else {
    ctx.rapl_status = absl::StrCat("not measured: ", rapl.status().message());
  }
  QB_ASSIGN_OR_RETURN(ctx.fp32, Session::Create(std::move(graph), ctx.options));
  QB_ASSIGN_OR_RETURN(ctx.eval, data::OpenDataset(spec.eval_dataset));
  const int64_t total = spec.samples > 0 ? std::min(spec.samples, ctx.eval->size()) : ctx.eval->size();
  if (total == 0) return absl::InvalidArgumentError(absl::StrCat(spec.eval_dataset, ": the dataset is empty"));

  // The model's input shape fixes the batch when its first dim is static.
  const Shape declared = ctx.fp32->input_shape(0);
  const bool fixed_batch = !declared.empty() && declared[0] != kDynamicDim;
  const int64_t eval_batch = spec.eval_batch_size > 0 ? spec.eval_batch_size : (fixed_batch ? declared[0] : 64);
  if (fixed_batch && eval_batch != declared[0])
    return absl::InvalidArgumentError(absl::StrCat("job spec: eval_batch_size ", eval_batch, " but model input \"",
                                                   ctx.fp32->input_names()[0], "\" has a fixed batch of ", declared[0]));
  const Shape& sample = ctx.eval->sample_shape();
  if (declared.size() == sample.size() + 1)
    for (size_t d = 0; d < sample.size(); ++d)
      if (declared[d + 1] != kDynamicDim && declared[d + 1] != sample[d])
        return absl::InvalidArgumentError(absl::StrCat("dataset ", spec.eval_dataset, " yields samples of shape ",
                                                       ShapeToString(sample), " but model input \"",
                                                       ctx.fp32->input_names()[0], "\" expects ",
                                                       ShapeToString(declared)));
  QB_RETURN_IF_ERROR(OpenEvaluationSplit(ctx, total, eval_batch, fixed_batch));

  // FP32 first: it is the baseline every other configuration is compared with.
  // FP32 runs first even when the caller did not list it: every other configuration is
  // measured against it (agreement, SQNR, deltas).
  // (Specs from ParseJobSpec are ordered so already; a JobSpec built in code may not be.)
  std::vector<quant::QuantConfig> order = spec.configs;
  OrderBaselineFirst(&order);
  for (const quant::QuantConfig& c : order) {
    QB_RETURN_IF_ERROR(ctx.CheckCancelled());
    ConfigResult cr;
    cr.config = c;
    ctx.config = c.name;
    absl::Status s;
    if (c.precision == quant::Precision::kFp32) {
      cr.model_bytes = float_bytes;
      cr.size_method = "float32 constants of the ONNX model";
      s = MeasureAll(ctx, *ctx.fp32, &cr, ctx.reference.top1.empty());
      if (s.ok()) s = RunOnDevices(ctx, spec.model, &cr);
    } else if (c.precision == quant::Precision::kBf16) {
      s = RunBf16(ctx, &cr);
      if (s.ok())
        s = RunOnDevices(ctx,
                         absl::UnimplementedError("bf16 has no ONNX form to run (devices run the FP32 model and the "
                                                  "QDQ exports of integer configurations)"),
                         &cr);
    } else {
      s = RunInt(ctx, &cr);
    }
    if (!s.ok()) {
      // Cancellation stops the job; the FP32 baseline failing fails it; another
      // configuration records its error and the job goes on.
      if (absl::IsCancelled(s)) return s;
      if (c.precision == quant::Precision::kFp32 && &c == &order.front()) return s;
      cr.error = std::string(s.message());
    }
    if (hooks.config_done) hooks.config_done(cr);
    r.configs.push_back(std::move(cr));
  }
  if (spec.search.enabled) {
    QB_RETURN_IF_ERROR(ctx.CheckCancelled());
    QB_RETURN_IF_ERROR(RunSearch(ctx, &r));
  }
  r.split = ctx.split;
  r.env.peak_rss_bytes = PeakRssBytes();
  return r;
}

}  // namespace qbench
