#include "engine/kernels/reference/eltwise.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace qbench {
namespace {

float Relu(float x, float, float) { return x > 0.f ? x : 0.f; }
// Clip(x) = min(max(x, lo), hi); NaN passes through as ONNX Runtime does.
float Clip(float x, float lo, float hi) { return std::isnan(x) ? x : std::min(std::max(x, lo), hi); }
float LeakyRelu(float x, float alpha, float) { return x >= 0.f ? x : alpha * x; }
float Sigmoid(float x, float, float) { return 1.f / (1.f + std::exp(-x)); }
float Tanh(float x, float, float) { return std::tanh(x); }
// HardSigmoid(x) = max(0, min(1, alpha * x + beta))
float HardSigmoid(float x, float alpha, float beta) { return std::max(0.f, std::min(1.f, alpha * x + beta)); }
// HardSwish(x) = x * max(0, min(1, x / 6 + 1/2))  (HardSigmoid with alpha = 1/6, beta = 1/2)
float HardSwish(float x, float, float) { return x * std::max(0.f, std::min(1.f, x / 6.f + 0.5f)); }

constexpr float kInf = std::numeric_limits<float>::infinity();

constexpr EltwiseDef kEltwise[] = {
    {"Relu", Relu, 0.f, 0.f},
    {"Clip", Clip, -kInf, kInf},
    {"LeakyRelu", LeakyRelu, 0.01f, 0.f},
    {"Sigmoid", Sigmoid, 0.f, 0.f},
    {"Tanh", Tanh, 0.f, 0.f},
    {"HardSigmoid", HardSigmoid, 0.2f, 0.5f},
    {"HardSwish", HardSwish, 0.f, 0.f},
};

}  // namespace

const EltwiseDef* FindEltwise(std::string_view op_type) {
  for (const EltwiseDef& e : kEltwise)
    if (e.op_type == op_type) return &e;
  return nullptr;
}

}  // namespace qbench
