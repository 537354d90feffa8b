// The search's part of a job's results: JSON (every signal and candidate) and text
// (the strategies, the front and the signals' predictive power).
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/pipeline/pipeline.h"

namespace qbench {

using json = nlohmann::json;

json SearchJson(const SearchResult& r) {
  json j;
  j["spec"] = search::SearchSpecToJson(r.spec);
  j["choices"] = json::array();
  for (const search::Choice& c : r.choices) j["choices"].push_back(c.name);
  j["layers"] = json::array();
  for (const search::LayerSignals& l : r.layers) j["layers"].push_back(search::LayerSignalsToJson(l, r.choices));
  j["candidates"] = json::array();
  for (const search::Candidate& c : r.candidates) j["candidates"].push_back(search::CandidateToJson(c));
  j["strategies"] = json::array();
  for (const search::StrategyOutcome& o : r.strategies)
    j["strategies"].push_back({{"strategy", search::StrategyOf(o.strategy).name},
                               {"method", search::StrategyOf(o.strategy).method},
                               {"evaluations", o.evaluations},
                               {"chosen", o.chosen ? json(o.chosen->id) : json(nullptr)},
                               {"budget_spent", o.budget_spent},
                               {"note", o.note}});
  j["best"] = r.best_id ? json(*r.best_id) : json(nullptr);
  j["best_config"] = r.best_config;
  j["fallback"] = r.fallback_id ? json(*r.fallback_id) : json(nullptr);
  j["fallback_config"] = r.fallback_config;
  j["correlations"] = json::array();
  for (const SearchResult::Correlation& c : r.correlations)
    j["correlations"].push_back({{"choice", c.choice}, {"layers", c.layers}, {"eagl_spearman", c.eagl},
                                 {"sensitivity_spearman", c.sensitivity}});
  j["correlation_method"] =
      "Spearman rank correlation over the layers between each predictor (EAGL: the weights' entropy on the 8-bit "
      "grid; sensitivity: the isolated model output noise, -SQNR) and the measured isolated top-1 loss on the "
      "validation split, per integer choice";
  j["signal_evaluations"] = r.signal_evaluations;
  j["candidate_evaluations"] = r.candidate_evaluations;
  j["reused"] = r.reused;
  j["seconds"] = r.seconds;
  j["signal_seconds"] = r.signal_seconds;
  j["attributed_share"] = r.attributed_share;
  j["batch"] = r.batch;
  j["budget_spent"] = r.budget_spent;
  j["notes"] = r.notes;
  j["accuracy_method"] =
      "top-1 on the validation split against FP32 on the same samples; drop in points with the 95% paired "
      "(Newcombe) interval; within budget: drop <= max_drop";
  j["latency_method"] = "quick single-session median per batch at the search's batch size (search.latency); "
                        "the chosen configurations are re-measured with the job's latency method";
  j["energy_method"] = kEnergyModelSource;
  return j;
}

std::string SearchTable(const SearchResult& r) {
  std::string s = absl::StrFormat(
      "\nsearch: max drop %.2f points (validation), objective %s at batch %d; %d layers x %d choices; %d signal "
      "and %d candidate evaluations%s in %.1f s (signals %.1f s)\n",
      r.spec.max_drop, r.spec.objective.name, r.batch, r.layers.size(), r.choices.size(),
      r.signal_evaluations, r.candidate_evaluations,
      r.reused ? absl::StrFormat(", %d reused from an earlier attempt", r.reused) : std::string(), r.seconds,
      r.signal_seconds);
  for (const std::string& n : r.notes) s += absl::StrCat("  note: ", n, "\n");
  s += absl::StrFormat("  %-12s %5s %-8s %s\n", "strategy", "evals", "chosen", "what it did");
  for (const search::StrategyOutcome& o : r.strategies)
    s += absl::StrFormat("  %-12s %5d %-8s %s\n", search::StrategyOf(o.strategy).name, o.evaluations,
                         o.chosen ? absl::StrCat("#", o.chosen->id) : "none", o.note);
  s += absl::StrFormat("  %-5s %-11s %-24s %10s %10s %10s %9s  %s\n", "cand", "strategy", "drop [95% CI] pts",
                       "ms/batch", "bytes", "uJ", "objective", "front");
  auto row = [&](const search::Candidate& c) {
    s += absl::StrFormat("  #%-4d %-11s %-24s %10.3f %10d %10.2f %9.3f  %s%s%s\n", c.id, c.strategy,
                         absl::StrFormat("%.2f [%.2f, %.2f]", c.drop_points, -c.ci_high, -c.ci_low), c.latency_ms,
                         c.bytes, 1e6 * c.energy_joules, c.objective, c.on_front ? "front" : "",
                         r.best_id == c.id ? " best" : "", r.fallback_id == c.id ? " fallback" : "");
  };
  for (const search::Candidate& c : r.candidates)
    if (c.timed && (c.on_front || c.strategy == "uniform" || r.best_id == c.id || r.fallback_id == c.id)) row(c);
  s += "  (the front, the uniform models and the chosen; every candidate is in the JSON)\n";
  for (const SearchResult::Correlation& c : r.correlations)
    s += absl::StrFormat("  rank correlation with the isolated loss at %s over %d layers: EAGL %+.2f, "
                         "sensitivity %+.2f\n",
                         c.choice, c.layers, c.eagl, c.sensitivity);
  s += absl::StrFormat("  per-layer signals (isolated drop pts | ms at batch %d; %.0f%% of FP32's step time is "
                       "on these layers)\n",
                       r.batch, 100 * r.attributed_share);
  std::string head = absl::StrFormat("  %-28s %7s", "layer", "H8 bits");
  for (const search::Choice& c : r.choices) head += absl::StrFormat(" %16s", c.name);
  s += head + "\n";
  for (const search::LayerSignals& l : r.layers) {
    std::string line = absl::StrFormat("  %-28s %7.2f", l.node, l.entropy8_bits);
    for (size_t c = 0; c < r.choices.size(); ++c)
      line += absl::StrFormat(" %7.2f |%6.3f", l.isolated_drop[c], l.latency_ms[c]);
    s += line + "\n";
  }
  return s;
}

}  // namespace qbench
