#include "spec/quant_types.h"

#include <iterator>

namespace qbench::quant {
namespace {

struct CalibMethodName {
  CalibMethod method;
  std::string_view name;
};
constexpr CalibMethodName kCalibMethods[] = {
    {CalibMethod::kMinMax, "minmax"},
    {CalibMethod::kPercentile, "percentile"},
    {CalibMethod::kEntropy, "entropy"},
    {CalibMethod::kMse, "mse"},
};

constexpr RoundingDef kRoundings[] = {
    {Rounding::kNearest, "nearest", false, true},
    {Rounding::kGptq, "gptq", true, true},
    {Rounding::kAdaround, "adaround", true, true},
    {Rounding::kBlock, "block", true, false},
};

}  // namespace

std::optional<CalibMethod> FindCalibMethod(std::string_view name) {
  for (const CalibMethodName& d : kCalibMethods)
    if (d.name == name) return d.method;
  return std::nullopt;
}

std::string_view MethodName(CalibMethod method) {
  for (const CalibMethodName& d : kCalibMethods)
    if (d.method == method) return d.name;
  return kCalibMethods[0].name;
}

const RoundingDef* FindRounding(std::string_view name) {
  for (const RoundingDef& d : kRoundings)
    if (d.name == name) return &d;
  return nullptr;
}

const RoundingDef& RoundingOf(Rounding method) {
  for (const RoundingDef& d : kRoundings)
    if (d.method == method) return d;
  return kRoundings[0];
}

}  // namespace qbench::quant
