// The search job's request (issue 14): which precision for every layer, under an
// accuracy budget, for the lowest latency, size or energy on this worker. Part of the job
// spec ("search": {...}); its field names are API: add fields, never rename them.
//
// "search": {
//   "max_drop": 0.5,                    top-1 points below FP32, judged on the validation split
//   "budget_rule": "estimate" | "interval",
//                                       what must stay within max_drop: the measured drop
//                                       (the peers' rule), or the upper end of its 95% paired
//                                       interval (a margin for the test split's sampling noise)
//   "objective": "latency" | "size" | "energy" | {"latency": 1, "size": 0.5},
//                                       a weighted mix sums each figure over FP32's
//   "batch_size": 64,                   the batch latency is measured at
//   "choices": ["fp32", "bf16", "w8a8", "w4a8", "w2a8+gptq"],
//                                       per-layer options: fp32, bf16, w<W>a<A> with an optional
//                                       "+nearest" / "+gptq" / "+adaround" weight rounding
//   "base": "w8a8" | {config},          the integer configuration every integer choice starts
//                                       from (ranges, calibration, rounding knobs; spec/quant_config.h)
//   "strategies": ["fallback", "eagl", "sensitivity", "alps"],
//   "budget": {"evaluations": 64, "minutes": 60},
//                                       candidate evaluations (the per-layer signals are
//                                       counted apart) and wall-clock minutes of the whole search
//   "latency": {"warmup_iters": 3, "min_iters": 10, "min_seconds": 0.3}
//                                       the quick latency of each candidate; the chosen ones
//                                       are re-measured with the job's full latency method
// }
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "spec/quant_config.h"

namespace qbench::search {

// One per-layer option.
struct Choice {
  enum class Kind { kFp32, kBf16, kInt };
  std::string name;  // as written in the spec ("w4a8+gptq")
  Kind kind = Kind::kInt;
  int weight_bits = 0, activation_bits = 0;  // integer choices
  std::optional<quant::Rounding> rounding;   // absent: the base configuration's
  // The bits a weight is stored in: 32, 16 or weight_bits.
  int stored_bits() const { return kind == Kind::kFp32 ? 32 : kind == Kind::kBf16 ? 16 : weight_bits; }
};

// "fp32", "bf16", "w<W>a<A>" (W 2-8, A 4-8) with an optional "+<rounding>".
absl::StatusOr<Choice> ParseChoice(const std::string& text, const std::string& where);

// The weights of each figure in the objective; each figure is divided by FP32's, so a
// mix is unitless. One of them is 1 and the rest 0 for a single objective.
struct Objective {
  double latency = 0, size = 0, energy = 0;
  std::string name;  // "latency", "size", "energy" or "mix"
};

enum class Strategy { kFallback, kEagl, kSensitivity, kAlps };
struct StrategyDef {
  Strategy strategy;
  const char* name;
  const char* method;  // in words, for results
};
extern const StrategyDef kStrategies[];
extern const int kStrategyCount;
const StrategyDef& StrategyOf(Strategy s);

// Which figure of a candidate's accuracy drop the budget judges.
enum class BudgetRule { kEstimate, kInterval };
struct BudgetRuleDef {
  BudgetRule rule;
  const char* name;  // as in the spec
};
extern const BudgetRuleDef kBudgetRules[];
const BudgetRuleDef& BudgetRuleOf(BudgetRule r);

// The drop (points) the budget rule judges: `drop_points` itself, or the upper end of
// its 95% paired interval, -ci_low_points (ci_low is the low end of this - FP32).
double JudgedDrop(BudgetRule rule, double drop_points, double ci_low_points);

struct CandidateLatency {
  int64_t warmup_iters = 3;
  int64_t min_iters = 10;
  double min_seconds = 0.3;
};

struct SearchSpec {
  bool enabled = false;
  double max_drop = 0.5;  // points
  BudgetRule budget_rule = BudgetRule::kEstimate;
  Objective objective{1, 0, 0, "latency"};
  int64_t batch_size = 64;
  std::vector<Choice> choices;
  quant::QuantConfig base;
  std::vector<Strategy> strategies;
  int64_t max_evaluations = 64;
  double max_minutes = 60;
  CandidateLatency latency;
};

// The limits a search may ask for (the job's own limits bound batch_size and minutes).
struct SearchLimits {
  int64_t batch_size = 4096;
  int64_t evaluations = 10'000;
  double minutes = 7 * 86400.0 / 60;
  int64_t latency_iters = 1'000'000;
  double latency_seconds = 600;
};

// Parses the "search" object. Errors name the field ("job spec: field
// \"search.choices[2]\" ...").
absl::StatusOr<SearchSpec> ParseSearchSpec(const nlohmann::json& j, const SearchLimits& limits);

// Whether a candidate with this drop and interval is within the spec's budget (1e-9
// points of slack for the arithmetic of a drop exactly at the budget).
bool WithinBudget(const SearchSpec& s, double drop_points, double ci_low_points);

// The spec as written back into results (every field, defaults filled in).
nlohmann::json SearchSpecToJson(const SearchSpec& s);

}  // namespace qbench::search
