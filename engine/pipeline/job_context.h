// What the stages of one job share (pipeline.cc runs the configurations, search.cc the
// search), and the steps both use. Internal to the pipeline library.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

#include "engine/data/dataset.h"
#include "engine/measure/rapl.h"
#include "engine/pipeline/evaluate.h"
#include "engine/pipeline/pipeline.h"
#include "engine/quant/calibrate.h"
#include "engine/quant/hessian.h"
#include "engine/runtime/session.h"

namespace qbench::pipeline_internal {

// Everything shared by the configurations of one job.
struct JobContext {
  explicit JobContext(const JobSpec& s) : spec(s) {}
  const JobSpec& spec;
  SessionOptions options;
  std::unique_ptr<Session> fp32;
  std::unique_ptr<data::Dataset> eval;
  std::unique_ptr<data::Dataset> calib;
  EvalOptions eval_options;  // the test samples
  Fp32Reference reference;
  EvaluationSplit split;     // eval_options.indices and val_options.indices point into it
  std::unique_ptr<data::Dataset> val_owned;  // a validation dataset of its own
  const data::Dataset* val = nullptr;        // where validation samples come from (null: none)
  EvalOptions val_options;
  Fp32Reference val_reference;
  std::map<std::tuple<int64_t, uint64_t, bool>, quant::CalibrationData> calibrations;  // (samples, seed, equalized)
  std::map<std::tuple<int64_t, uint64_t, bool>, quant::HessianSet> hessians;         // the same keys
  std::optional<RaplMeter> rapl;  // measured energy, when readable
  std::string rapl_status;        // the domains read, or why energy is not measured
  double idle_watts = 0;
  std::unique_ptr<Session> equalized;  // FP32 after cross-layer equalization (same function)
  int equalized_pairs = 0;
  int loader_threads = 1;
  const RunHooks* hooks = nullptr;
  std::string config;  // the configuration being run, for progress
  // Attached devices (devices.cc): the ones the spec selected, the work directory with
  // the test and timing batches written once per job, and each device's FP32 run.
  std::vector<const device::Device*> devices;
  struct DeviceInputs {
    std::string dir;                         // removed when the job ends
    std::vector<std::string> eval;           // "eval/NNNNNN.npy", one per evaluation batch
    std::vector<int64_t> eval_rows;          // rows written per batch (padded for a fixed batch)
    std::vector<std::pair<int64_t, std::string>> timing;  // batch size, "time/bB.npy"
    int runs = 0;
    ~DeviceInputs();
  };
  std::unique_ptr<DeviceInputs> device_inputs;  // made on first use
  std::map<std::string, Fp32Reference> device_references;  // by device id

  absl::Status CheckCancelled() const {
    if (hooks && hooks->cancelled && hooks->cancelled()) return absl::CancelledError("the job was cancelled");
    return absl::OkStatus();
  }
  void Progress(RunStage stage, int64_t done, int64_t total) const {
    if (hooks && hooks->progress) hooks->progress(config, stage, done, total);
  }
  // EvalOptions whose per-batch callback reports `stage` and polls for cancellation. A
  // pass that is part of a larger stage reports from `offset` of `total` (0: its own).
  EvalOptions Tracked(EvalOptions o, RunStage stage, int64_t offset = 0, int64_t total = 0) const {
    if (hooks) o.on_batch = [this, stage, offset, total](int64_t done, int64_t own) {
      Progress(stage, offset + done, total > 0 ? total : own);
      return CheckCancelled();
    };
    return o;
  }
  std::function<absl::Status()> Poll() const {
    return [this] { return CheckCancelled(); };
  }
};

// What QuantizeGraph gets for configurations without calibration (dynamic activations).
extern const std::map<int, quant::Histogram> kNoHistograms;

// Whether this CPU runs bfloat16 natively (oneDNN's ISA).
bool HasBf16();
// Accuracy on the test (and validation) samples, latency, offline throughput, profile
// and energy of one built session.
absl::Status MeasureAll(JobContext& ctx, Session& session, ConfigResult* r, bool is_fp32);
// The FP32 session a configuration quantizes: the model itself, or its equalized twin.
absl::StatusOr<Session*> BaseSession(JobContext& ctx, const quant::QuantConfig& c);
// The configuration's calibration (cached by samples, seed and equalization).
absl::StatusOr<const quant::CalibrationData*> CalibrationFor(JobContext& ctx, const quant::QuantConfig& c);
// The input Hessians of every Conv/Gemm over the configuration's calibration samples (cached likewise).
absl::StatusOr<const quant::HessianSet*> HessiansFor(JobContext& ctx, const quant::QuantConfig& c,
                                                     const quant::CalibrationData& cal);
// An integer configuration, quantized, measured and (when asked) exported, into r.
absl::Status RunInt(JobContext& ctx, ConfigResult* r);
// Caps r->config's weight widths at what this CPU's int8 kernels compute exactly (and says so).
void FitWeightsToKernels(const JobContext& ctx, ConfigResult* r);

// Runs the configuration's ONNX form (`model`: the FP32 file or its QDQ export, or why
// there is none) on every selected device into r->devices (devices.cc). A device's
// failure is recorded there; only cancellation is returned.
absl::Status RunOnDevices(JobContext& ctx, const absl::StatusOr<std::string>& model, ConfigResult* r);
// Where a configuration's QDQ export for the devices goes (in the job's work directory).
absl::StatusOr<std::string> DeviceModelFile(JobContext& ctx, const std::string& config);
// Checks the spec's device selectors against the worker's devices and fills ctx.devices.
absl::Status SelectDevices(JobContext& ctx, const std::vector<device::Device>& devices);

// The search (search.cc): runs when the spec has one, after the configurations, and
// appends its chosen configurations' full measurements to r->configs.
absl::Status RunSearch(JobContext& ctx, JobResult* r);

}  // namespace qbench::pipeline_internal
