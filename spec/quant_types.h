// The vocabulary of a bit-width configuration: the enums and plain structs a job spec
// names, shared by the spec parser (spec/quant_config.h) and the engine that carries them
// out (engine/quant/). No engine code here: the server and the CLI read specs without
// linking the engine.
#pragma once

#include <optional>
#include <string_view>

namespace qbench::quant {

// How a scale is constrained after it is chosen (engine/quant/qparams.h applies it).
enum class ScaleConstraint { kFloat, kPowerOfTwo, kDyadic };

// Weight range methods (computed from the weights themselves, per channel or tensor).
enum class WeightMethod { kMinMax, kMse };

struct WeightSpec {
  int bits = 8;
  bool per_channel = true;
  bool symmetric = true;
  WeightMethod method = WeightMethod::kMinMax;
  // Symmetric scale amax / (2^(b-1) - 1) (narrow) or amax / (2^(b-1) - 0.5) (full range,
  // PyTorch's observers). Unset: full range at 8 bits, narrow below, where saturating
  // +amax by half a step costs more than the finer grid gains.
  std::optional<bool> narrow_range;
  bool full_range() const { return narrow_range ? !*narrow_range : bits == 8; }
};

// Activation range methods (engine/quant/range_method.h holds their functions).
enum class CalibMethod { kMinMax, kPercentile, kEntropy, kMse };

// The name a spec writes for each method ("minmax", "percentile", "entropy", "mse").
std::optional<CalibMethod> FindCalibMethod(std::string_view name);
std::string_view MethodName(CalibMethod method);

// Weight rounding (engine/quant/rounding.h; docs/quantization.md section 7d).
enum class Rounding { kNearest, kGptq, kAdaround, kBlock };

struct RoundingOptions {
  Rounding method = Rounding::kNearest;
  double damp = 0.01;        // gptq: H += damp * mean(diag H) * I
  bool act_order = true;     // gptq: round inputs by decreasing H_ii (the most-read first)
  int iterations = 5000;     // adaround: gradient steps per layer
  double reg = 1.0;          // adaround: weight of the rounding regularizer (relative units)
  double learning_rate = 1e-2;  // adaround: Adam's step on the rounding variables
  // "inputs": "quantized": each layer reconstructs FP32's output from the inputs the
  // quantized model feeds it, its earlier layers already rounded (one calibration pass
  // per step of layers); "fp32" (default): from FP32's inputs.
  bool quantized_inputs = false;
};

struct RoundingDef {
  Rounding method;
  std::string_view name;  // as written in job specs
  bool needs_hessian;
  bool available;         // false: the name is reserved, the method not built yet
};
const RoundingDef* FindRounding(std::string_view name);
const RoundingDef& RoundingOf(Rounding method);

}  // namespace qbench::quant
