#include "spec/search_spec.h"

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "spec/spec_reader.h"
#include "common/status.h"

namespace qbench::search {

using json = nlohmann::json;

const StrategyDef kStrategies[] = {
    {Strategy::kFallback, "fallback",
     "all layers at the start choice, then the most sensitive returned to FP32 one at a time until the budget "
     "holds (the peers' accuracy-driven fallback)"},
    {Strategy::kEagl, "eagl",
     "layers lowered in order of the information their weights lose (EAGL: entropy of the quantized weights "
     "above the target width), the longest order prefix within budget found by bisection"},
    {Strategy::kSensitivity, "sensitivity",
     "layers lowered in order of their isolated output noise (one layer quantized, the rest FP32), the longest "
     "prefix within budget found by bisection"},
    {Strategy::kAlps, "alps",
     "accuracy-aware greedy (ALPS): moves ranked by measured cost saved per point of measured accuracy lost, "
     "each batch of moves verified on the validation split and backed off when over budget"},
};
const int kStrategyCount = static_cast<int>(std::size(kStrategies));

const StrategyDef& StrategyOf(Strategy s) { return kStrategies[static_cast<int>(s)]; }

// "estimate": the measured validation drop is at most max_drop; "interval": the upper end
// of its 95% paired interval is (docs/quantization.md section 7e).
const BudgetRuleDef kBudgetRules[] = {
    {BudgetRule::kEstimate, "estimate"},
    {BudgetRule::kInterval, "interval"},
};
static_assert(static_cast<int>(BudgetRule::kEstimate) == 0 && static_cast<int>(BudgetRule::kInterval) == 1,
              "kBudgetRules is indexed by BudgetRule");

const BudgetRuleDef& BudgetRuleOf(BudgetRule r) { return kBudgetRules[static_cast<int>(r)]; }

double JudgedDrop(BudgetRule rule, double drop_points, double ci_low_points) {
  return rule == BudgetRule::kInterval ? -ci_low_points : drop_points;
}

bool WithinBudget(const SearchSpec& s, double drop_points, double ci_low_points) {
  return JudgedDrop(s.budget_rule, drop_points, ci_low_points) <= s.max_drop + 1e-9;
}

absl::StatusOr<Choice> ParseChoice(const std::string& text, const std::string& where) {
  Choice c;
  c.name = text;
  const size_t plus = text.find('+');
  const std::string base = text.substr(0, plus);
  if (plus != std::string::npos) {
    const quant::RoundingDef* r = quant::FindRounding(text.substr(plus + 1));
    if (r == nullptr || !r->available)
      return SpecFieldError(where, absl::StrCat("has weight rounding \"", text.substr(plus + 1),
                                                "\"; available: nearest, gptq, adaround"));
    c.rounding = r->method;
  }
  if (base == "fp32" || base == "bf16") {
    if (c.rounding) return SpecFieldError(where, "takes a weight rounding only for integer choices (w<W>a<A>+gptq)");
    c.kind = base == "fp32" ? Choice::Kind::kFp32 : Choice::Kind::kBf16;
    return c;
  }
  // w<W>a<A>: the same grammar as the short configuration names (spec/quant_config.h).
  auto cfg = quant::ConfigFromShortName(base);
  if (!cfg.ok() || cfg->precision != quant::Precision::kInt || cfg->activations.dynamic)
    return SpecFieldError(where, absl::StrCat("is \"", text, "\"; choices are fp32, bf16 and w<W>a<A> (W 2-8, A 4-8) "
                                              "with an optional +nearest, +gptq or +adaround"));
  c.kind = Choice::Kind::kInt;
  c.weight_bits = cfg->weights.bits;
  c.activation_bits = cfg->activations.bits;
  return c;
}

namespace {

absl::Status ParseObjective(const json& v, Objective* o) {
  *o = Objective{};
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "latency") o->latency = 1;
    else if (s == "size") o->size = 1;
    else if (s == "energy") o->energy = 1;
    else return SpecFieldError("search.objective", "must be \"latency\", \"size\", \"energy\" or a weighted mix");
    o->name = s;
    return absl::OkStatus();
  }
  QB_RETURN_IF_ERROR(CheckSpecKeys(v, "search.objective", {"latency", "size", "energy"}));
  const SpecReader r(v, "search.objective.");
  QB_RETURN_IF_ERROR(r.Number("latency", 0, 1e6, &o->latency));
  QB_RETURN_IF_ERROR(r.Number("size", 0, 1e6, &o->size));
  QB_RETURN_IF_ERROR(r.Number("energy", 0, 1e6, &o->energy));
  if (!(o->latency + o->size + o->energy > 0)) return SpecFieldError("search.objective", "needs a weight > 0");
  o->name = "mix";
  return absl::OkStatus();
}

absl::Status ParseChoices(const json& v, SearchSpec* s) {
  if (!v.is_array() || v.size() < 2 || v.size() > 16)
    return SpecFieldError("search.choices", "must be a list of 2 to 16 choices");
  std::set<std::string> seen;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string where = absl::StrCat("search.choices[", i, "]");
    if (!v[i].is_string()) return SpecFieldError(where, "must be a string (fp32, bf16, w8a8, w4a8+gptq, ...)");
    QB_ASSIGN_OR_RETURN(Choice c, ParseChoice(v[i].get<std::string>(), where));
    if (!seen.insert(c.name).second) return SpecFieldError(where, absl::StrCat("repeats \"", c.name, "\""));
    s->choices.push_back(std::move(c));
  }
  return absl::OkStatus();
}

absl::Status ParseStrategies(const json& v, SearchSpec* s) {
  if (!v.is_array() || v.empty()) return SpecFieldError("search.strategies", "must be a non-empty list");
  s->strategies.clear();
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string where = absl::StrCat("search.strategies[", i, "]");
    const StrategyDef* found = nullptr;
    for (const StrategyDef& d : kStrategies)
      if (v[i].is_string() && v[i].get<std::string>() == d.name) found = &d;
    if (found == nullptr) return SpecFieldError(where, "must be one of fallback, eagl, sensitivity, alps");
    for (Strategy t : s->strategies)
      if (t == found->strategy) return SpecFieldError(where, "repeats a strategy");
    s->strategies.push_back(found->strategy);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SearchSpec> ParseSearchSpec(const json& j, const SearchLimits& limits) {
  QB_RETURN_IF_ERROR(CheckSpecKeys(j, "search", {"max_drop", "budget_rule", "objective", "batch_size", "choices",
                                                 "base", "strategies", "budget", "latency"}));
  SearchSpec s;
  s.enabled = true;
  const SpecReader r(j, "search.");
  QB_RETURN_IF_ERROR(r.Number("max_drop", 0, 100, &s.max_drop));
  if (auto it = j.find("budget_rule"); it != j.end()) {
    const BudgetRuleDef* found = nullptr;
    if (it->is_string())
      for (const BudgetRuleDef& d : kBudgetRules)
        if (it->get_ref<const std::string&>() == d.name) found = &d;
    if (found == nullptr) return SpecFieldError("search.budget_rule", "must be \"estimate\" or \"interval\"");
    s.budget_rule = found->rule;
  }
  if (auto it = j.find("objective"); it != j.end()) QB_RETURN_IF_ERROR(ParseObjective(*it, &s.objective));
  s.batch_size = std::min(s.batch_size, limits.batch_size);
  QB_RETURN_IF_ERROR(r.Integer("batch_size", 1, limits.batch_size, &s.batch_size, "batch_size"));
  if (auto it = j.find("choices"); it != j.end()) {
    QB_RETURN_IF_ERROR(ParseChoices(*it, &s));
  } else {
    for (const char* c : {"fp32", "bf16", "w8a8", "w4a8"}) s.choices.push_back(*ParseChoice(c, "search.choices"));
  }
  bool any_int = false;
  for (const Choice& c : s.choices) any_int |= c.kind == Choice::Kind::kInt;
  if (!any_int) return SpecFieldError("search.choices", "needs at least one integer choice (w8a8, w4a8, ...)");
  json base = j.contains("base") ? j["base"] : json("w8a8");
  if (base.is_object() && !base.contains("name")) base["name"] = "search";  // named by the search
  QB_ASSIGN_OR_RETURN(s.base, quant::ParseConfig(base, "search.base"));
  if (s.base.precision != quant::Precision::kInt || s.base.activations.dynamic)
    return SpecFieldError("search.base", "must be an integer configuration with static activations");
  if (!s.base.overrides.empty()) return SpecFieldError("search.base.overrides", "are chosen by the search");
  s.base.name = "search";
  for (const StrategyDef& d : kStrategies) s.strategies.push_back(d.strategy);
  if (auto it = j.find("strategies"); it != j.end()) QB_RETURN_IF_ERROR(ParseStrategies(*it, &s));
  if (auto it = j.find("budget"); it != j.end()) {
    QB_RETURN_IF_ERROR(CheckSpecKeys(*it, "search.budget", {"evaluations", "minutes"}));
    const SpecReader b(*it, "search.budget.");
    QB_RETURN_IF_ERROR(b.Integer("evaluations", 1, limits.evaluations, &s.max_evaluations));
    QB_RETURN_IF_ERROR(b.Number("minutes", 0, limits.minutes, &s.max_minutes, "max_job_seconds"));
    if (!(s.max_minutes > 0)) return SpecFieldError("search.budget.minutes", "must be > 0");
  }
  if (auto it = j.find("latency"); it != j.end()) {
    QB_RETURN_IF_ERROR(CheckSpecKeys(*it, "search.latency", {"warmup_iters", "min_iters", "min_seconds"}));
    const SpecReader l(*it, "search.latency.");
    QB_RETURN_IF_ERROR(l.Integer("warmup_iters", 0, limits.latency_iters, &s.latency.warmup_iters, "latency.max_iters"));
    QB_RETURN_IF_ERROR(l.Integer("min_iters", 1, limits.latency_iters, &s.latency.min_iters, "latency.max_iters"));
    QB_RETURN_IF_ERROR(
        l.Number("min_seconds", 0, limits.latency_seconds, &s.latency.min_seconds, "latency.min_seconds"));
  }
  return s;
}

json SearchSpecToJson(const SearchSpec& s) {
  json j;
  j["max_drop"] = s.max_drop;
  j["budget_rule"] = BudgetRuleOf(s.budget_rule).name;
  if (s.objective.name == "mix")
    j["objective"] = {{"latency", s.objective.latency}, {"size", s.objective.size}, {"energy", s.objective.energy}};
  else
    j["objective"] = s.objective.name;
  j["batch_size"] = s.batch_size;
  j["choices"] = json::array();
  for (const Choice& c : s.choices) j["choices"].push_back(c.name);
  j["base"] = quant::ConfigToJson(s.base);
  j["strategies"] = json::array();
  for (Strategy t : s.strategies) j["strategies"].push_back(StrategyOf(t).name);
  j["budget"] = {{"evaluations", s.max_evaluations}, {"minutes", s.max_minutes}};
  j["latency"] = {{"warmup_iters", s.latency.warmup_iters},
                  {"min_iters", s.latency.min_iters},
                  {"min_seconds", s.latency.min_seconds}};
  return j;
}

}  // namespace qbench::search
