// qbench-export: quantizes a model the way `qbench-worker --local` does (import, optimize,
// calibrate, QuantizeGraph) and writes the result as an ONNX QDQ model (onnx/exporter.h),
// so that ONNX Runtime can run the very configuration we measured.
//
//   qbench-export --model M.onnx --calib MANIFEST [--samples N] [--seed S]
//                 [--config NAME_OR_JSON] --out q.onnx
//
// --config takes a short name ("w8a8", "w4a8", ...) or a JSON object as in a job spec's
// "configs" list (spec/quant_config.h). Calibration uses the job spec's defaults: batch 64, the
// oneDNN backend, 1 thread, so the parameters match a worker run with the same samples
// and seed. Exit codes: 0 ok, 2 usage or input errors, 1 quantization or export failures.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/flags.h"
#include "common/status.h"
#include "engine/data/dataset.h"
#include "engine/onnx/exporter.h"
#include "engine/onnx/importer.h"
#include "engine/quant/calibrate.h"
#include "spec/quant_config.h"
#include "engine/quant/hessian.h"
#include "engine/quant/quantize_graph.h"
#include "engine/runtime/session.h"

namespace qbench {
namespace {

struct Options {
  std::string model, calib, config = "w8a8", out;
  int64_t samples = 512, seed = 0, batch = 64;
  int threads = 1;
  Backend backend = Backend::kOneDnn;
  bool int32_bias = true, help = false;
};

// One table drives both parsing and --help.
constexpr FlagSpec kFlags[] = {
    {"--model", "M", "FP32 ONNX model"},
    {"--calib", "MANIFEST", "calibration dataset manifest (needed by static configurations)"},
    {"--samples", "N", "calibration samples (default 512, the job spec's default)"},
    {"--seed", "S", "calibration sample seed (default 0)"},
    {"--config", "NAME|JSON", "configuration: short name or JSON object (default w8a8)"},
    {"--out", "FILE", "the QDQ model to write"},
    {"--batch", "B", "calibration batch size (default 64)"},
    {"--threads", "N", "oneDNN threads (default 1)"},
    {"--backend", "onednn|reference", "backend that runs calibration (default onednn)"},
    {"--float-bias", nullptr, "keep float32 biases (ONNX Runtime then runs float convolutions)"},
    {"--help", nullptr, "show this help"},
};

void Usage(FILE* f) {
  std::fprintf(f, "usage: qbench-export --model M.onnx --calib MANIFEST [--samples N] [--seed S]\n"
                  "                     [--config NAME_OR_JSON] --out q.onnx\n\n");
  std::fputs(FlagHelp(kFlags).c_str(), f);
}

absl::StatusOr<Options> ParseArgs(int argc, char** argv) {
  Options o;
  QB_ASSIGN_OR_RETURN(auto flags, ParseFlags(argc, argv, kFlags));
  for (const auto& [a, v] : flags) {
    if (a == "--model") o.model = v;
    else if (a == "--calib") o.calib = v;
    else if (a == "--config") o.config = v;
    else if (a == "--out") o.out = v;
    else if (a == "--float-bias") o.int32_bias = false;
    else if (a == "--samples") { QB_ASSIGN_OR_RETURN(o.samples, FlagInt(a, v, 1)); }
    else if (a == "--seed") { QB_ASSIGN_OR_RETURN(o.seed, FlagInt(a, v, 0)); }
    else if (a == "--batch") { QB_ASSIGN_OR_RETURN(o.batch, FlagInt(a, v, 1)); }
    else if (a == "--threads") {
      QB_ASSIGN_OR_RETURN(const int64_t t, FlagInt(a, v, 0));
      o.threads = static_cast<int>(t);
    } else if (a == "--backend") {
      if (v != "onednn" && v != "reference")
        return absl::InvalidArgumentError(absl::StrCat("--backend must be onednn or reference, got \"", v, "\""));
      o.backend = v == "onednn" ? Backend::kOneDnn : Backend::kReference;
    } else if (a == "--help") {
      o.help = true;
      return o;
    }
  }
  if (o.model.empty() || o.out.empty()) return absl::InvalidArgumentError("--model and --out are required");
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

absl::Status Export(const Options& o) {
  QB_ASSIGN_OR_RETURN(const quant::QuantConfig config, ParseConfigArg(o.config));
  if (config.precision != quant::Precision::kInt)
    return absl::InvalidArgumentError(absl::StrCat("--config \"", config.name,
                                                   "\": only integer configurations have a QDQ form"));
  QB_ASSIGN_OR_RETURN(Graph graph, ImportOnnxFile(o.model));
  SessionOptions so;
  so.backend = o.backend;
  so.threads = o.threads;
  QB_ASSIGN_OR_RETURN(auto fp32, Session::Create(std::move(graph), so));

  quant::CalibrationData cal;
  std::optional<quant::HessianSet> hessians;
  if (config.needs_calibration() || config.needs_hessians()) {
    if (o.calib.empty()) return absl::InvalidArgumentError(absl::StrCat("--config \"", config.name, "\" needs --calib"));
    QB_ASSIGN_OR_RETURN(auto ds, data::OpenDataset(o.calib));
    const int loaders = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    quant::CalibrationOptions co{config.calibration_samples > 0 ? config.calibration_samples : o.samples,
                                 config.calibration_seed.value_or(static_cast<uint64_t>(o.seed)), o.batch, loaders};
    QB_ASSIGN_OR_RETURN(cal, quant::Calibrate(*fp32, *ds, o.calib, co));
    if (config.needs_hessians()) {
      std::set<int> layers;
      for (int i = 0; i < static_cast<int>(fp32->graph().nodes.size()); ++i) layers.insert(i);
      QB_ASSIGN_OR_RETURN(hessians, quant::CollectHessians(*fp32, *ds, cal.indices, o.batch, loaders, layers));
    }
  }
  QB_ASSIGN_OR_RETURN(quant::QuantizedModel qm,
                      quant::QuantizeGraph(fp32->graph(), config, cal.histograms, &cal.channel_means,
                                           hessians ? &*hessians : nullptr));
  ExportOptions eo;
  eo.int32_bias = o.int32_bias;
  ExportStats st;
  QB_RETURN_IF_ERROR(ExportOnnx(qm.graph, o.out, eo, &st));
  nlohmann::json summary = {
      {"out", o.out},
      {"config", config.name},
      {"opset", st.opset},
      {"nodes", st.nodes},
      {"initializers", st.initializers},
      {"post_op_nodes", st.post_op_nodes},
      {"grid_clips", st.grid_clips},
      {"int32_biases", st.bias.biases},
      {"bias_rounding_max_abs", st.bias.max_abs_error},
      {"bias_rounding_max_steps", st.bias.max_error_steps},
      {"calibration_samples", static_cast<int64_t>(cal.indices.size())},
      {"calibration_sha256", cal.indices_sha256},
  };
  std::printf("%s\n", summary.dump().c_str());
  return absl::OkStatus();
}

}  // namespace
}  // namespace qbench

int main(int argc, char** argv) {
  absl::StatusOr<qbench::Options> opts = qbench::ParseArgs(argc, argv);
  if (!opts.ok()) {
    std::fprintf(stderr, "qbench-export: %s\n\n", std::string(opts.status().message()).c_str());
    qbench::Usage(stderr);
    return 2;
  }
  if (opts->help) {
    qbench::Usage(stdout);
    return 0;
  }
  absl::Status s;
  try {
    s = qbench::Export(*opts);
  } catch (const std::exception& e) {
    s = absl::InternalError(absl::StrCat("unexpected error: ", e.what()));
  }
  if (!s.ok()) {
    std::fprintf(stderr, "qbench-export: %s\n", std::string(s.message()).c_str());
    const bool usage = absl::IsInvalidArgument(s) || absl::IsNotFound(s);
    return usage ? 2 : 1;
  }
  return 0;
}
