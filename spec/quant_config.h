// Bit-width configurations: what a job asks the engine to build and measure.
//
// A job spec lists configurations by short name ("fp32", "bf16", "w8a8", "w4a8",
// "w8a8-dynamic" ...) or as objects that start from a short name ("preset") and change
// fields. Every field's meaning and default is documented in docs/quantization.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "spec/quant_types.h"

namespace qbench::quant {

enum class Precision { kFp32, kBf16, kInt };

struct ActivationSpec {
  int bits = 8;
  bool is_signed = false;  // false: u8 asymmetric; true: s8
  bool symmetric = false;
  bool dynamic = false;    // scale and zero point per batch at run time
  CalibMethod method = CalibMethod::kPercentile;
  double percentile = 99.99;
};

// A per-layer change, matched by node name (exact, or the ONNX node a fused op came
// from) or by op type.
struct LayerOverride {
  std::string node, op_type;
  bool fp32 = false;  // keep this layer in float
  bool bf16 = false;  // keep this layer in float and run it in bfloat16 (implies fp32)
  std::optional<int> weight_bits, activation_bits;
  std::optional<WeightMethod> weight_method;
  std::optional<CalibMethod> activation_method;
  std::optional<Rounding> rounding;
};

struct QuantConfig {
  std::string name;
  Precision precision = Precision::kInt;
  WeightSpec weights;
  RoundingOptions rounding;  // "weights.rounding": how weights round once their scales are set
  ActivationSpec activations;
  ScaleConstraint scale = ScaleConstraint::kFloat;
  int dyadic_bits = 16;  // multiplier bits for the dyadic constraint
  int64_t calibration_samples = 0;  // 0: the job's calibration.samples
  std::optional<uint64_t> calibration_seed;
  std::vector<LayerOverride> overrides;
  bool bias_correction = false;
  bool equalization = false;

  bool needs_calibration() const { return precision == Precision::kInt && !activations.dynamic; }
  // Whether any layer rounds by a method that reads the input Hessians.
  bool needs_hessians() const;
};

// Expands a short name: fp32, bf16, w<B>a<B> (weights 2-8, activations 4-8), with an
// optional "-dynamic" suffix for dynamic activations.
absl::StatusOr<QuantConfig> ConfigFromShortName(const std::string& name);

// Parses one entry of the spec's "configs" list (a string or an object). `where` names
// it in errors ("configs[2]").
absl::StatusOr<QuantConfig> ParseConfig(const nlohmann::json& j, const std::string& where);

// Caps every weight width of `c` (the configuration's and each override's) at
// `max_bits`; returns whether any was wider. The pipeline applies the kernels' exact
// width (Int8ExactWeightBits), so that what runs is the configuration it reports.
bool LimitWeightBits(QuantConfig* c, int max_bits);

// The rounding choice as written back into results ({"method": ..., and its knobs}).
nlohmann::json RoundingToJson(const RoundingOptions& r);

// The configuration as a JSON object with every field (results record what ran).
nlohmann::json ConfigToJson(const QuantConfig& c);

}  // namespace qbench::quant
