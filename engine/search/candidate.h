// What a search evaluates and keeps: a per-layer assignment of choices, its measured
// figures, and the per-layer signals the strategies rank moves by. Pure data and small
// pure functions (the Pareto front, rank correlation): no engine, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "spec/search_spec.h"

namespace qbench::search {

// The choice index (into SearchSpec::choices) of every searched layer, in layer order.
using Assignment = std::vector<int>;

// "2.2.0.3": the assignment as stored and looked up (one evaluation per key).
std::string AssignmentKey(const Assignment& a);
// The inverse; nullopt for a malformed key or one with an index >= `choices` or of
// another length than `layers`.
std::optional<Assignment> ParseAssignmentKey(const std::string& key, size_t layers, size_t choices);

struct Candidate {
  int64_t id = 0;            // evaluation order within the search
  std::string key;           // AssignmentKey(assignment)
  std::string strategy;      // "uniform", "signal" or a strategy name: who asked for it first
  Assignment assignment;
  // On the validation samples, against FP32 on the same samples.
  int64_t samples = 0;
  double top1 = 0;           // fraction
  double drop_points = 0;    // FP32's top-1 minus this one's, points (> 0: worse)
  double ci_low = 0, ci_high = 0;  // 95% paired interval of the delta (this - FP32), points
  double output_sqnr_db = 0;
  // Quick latency at the search's batch size (not measured for signal evaluations).
  bool timed = false;
  int64_t batch = 0;  // the batch size latency was measured at (when timed)
  double latency_ms = 0, latency_ci_low = 0, latency_ci_high = 0;  // per batch: median and its 95% interval
  int64_t bytes = 0;
  double energy_joules = 0;  // modeled, per sample
  double objective = 0;      // the spec's objective over FP32's (lower is better; 0 until timed)
  bool within_budget = false;  // by the spec's budget rule (spec/search_spec.h WithinBudget)
  bool on_front = false;       // not dominated in (drop, objective) by another timed candidate
  bool reused = false;         // from an earlier attempt's stored candidates, not evaluated again
  double seconds = 0;          // time spent evaluating it
};

nlohmann::json CandidateToJson(const Candidate& c);
// The inverse, for candidates an earlier attempt stored; false when a field is missing
// or of the wrong type.
bool CandidateFromJson(const nlohmann::json& j, Candidate* c);

// What the strategies know of one layer before they search. Every vector has one entry
// per choice.
struct LayerSignals {
  std::string node, op_type;
  int64_t weights = 0;  // elements
  std::vector<double> latency_ms;     // the layer's steps in the model with every layer at the choice
  std::vector<double> bytes;          // its stored weights, scales and bias at the choice
  std::vector<double> energy_joules;  // modeled: its MACs at the choice's width and weight bytes
  std::vector<double> cost;           // the objective's mix of the three, each over FP32's model total
  // EAGL: the entropy (bits) of the weights on the choice's integer grid, sum -p log2 p
  // over the grid's levels (integer choices; 0 for float ones), and on the 8-bit grid.
  std::vector<double> entropy_bits;
  double entropy8_bits = 0;
  // Sensitivity: this layer alone at the choice, every other layer FP32, on the
  // validation samples: top-1 points lost and the model output's SQNR.
  std::vector<double> isolated_drop;
  std::vector<double> isolated_sqnr_db;
};

nlohmann::json LayerSignalsToJson(const LayerSignals& l, const std::vector<Choice>& choices);

// Marks on_front for every timed candidate that no other timed candidate dominates (one
// at most as bad in drop and in objective and better in one).
void MarkParetoFront(std::vector<Candidate>* candidates);

// Spearman's rank correlation of x and y (average ranks for ties); 0 when either is
// constant or they have fewer than 3 entries.
double Spearman(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace qbench::search
