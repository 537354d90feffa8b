// The search strategies (docs/quantization.md section 7e derives them). Each walks the
// per-layer choices from the signals and asks an Evaluator for the candidates it wants
// measured; none measures anything itself, so they run unchanged on a synthetic
// evaluator in tests.
//
// Every strategy moves layers down their ladder: the choices of one layer ordered by
// the accuracy they are predicted to cost (isolated output noise: FP32 first), keeping
// only those that cost less than every choice above them (a W4 layer that runs on the
// same int8 kernel as W8 saves no latency and is not a rung for the latency objective).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/search/candidate.h"
#include "spec/search_spec.h"

namespace qbench::search {

struct Problem {
  std::vector<Choice> choices;
  std::vector<LayerSignals> layers;
  double max_drop = 0.5;
  int fallback_start = -1;  // the choice fallback starts every layer at (the widest integer one)
  int fallback_to = -1;     // the choice it returns layers to (fp32, else the most costly)
  // A rung must cost less than the one above by more than min_saving plus
  // min_relative_saving of that one's cost (timing noise is not a saving).
  double min_saving = 0, min_relative_saving = 0;
  double epsilon_points = 0.05;  // ALPS: the smallest accuracy loss a move is charged
  // ALPS starts here (the pipeline gives it the cheapest uniform model within budget);
  // empty: every layer on its top rung.
  Assignment alps_start;
};

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  // The candidate for `a`, measured now or found among the candidates already measured
  // (the same assignment is never measured twice). OUT_OF_RANGE once the search's budget
  // of evaluations or minutes is spent; any other error stops the search.
  virtual absl::StatusOr<Candidate> Evaluate(const Assignment& a, const std::string& strategy) = 0;
  // How many candidates Evaluate has measured so far (found ones not counted).
  virtual int64_t evaluations() const = 0;
};

// The choices of layer `l` from least to most predicted accuracy loss, each costing less
// than all before it.
std::vector<int> Ladder(const Problem& p, size_t l);

// One rung down the ladder of one layer.
struct Move {
  size_t layer = 0;
  int from = 0, to = 0;  // choice indices
  int rung = 0;          // the rung `to` is on (1: the first move of the layer)
  double key = 0;        // the strategy's order (ascending)
};

// Every move of every ladder, ordered by the strategy's key; a layer's moves stay in
// ladder order (a key below the layer's previous move's is raised to it).
std::vector<Move> OrderedMoves(const Problem& p, Strategy s);

// Every layer on its ladder's top rung (the start of the descents).
Assignment TopAssignment(const Problem& p);

struct StrategyOutcome {
  Strategy strategy = Strategy::kFallback;
  int64_t evaluations = 0;      // candidates it measured (not those it found measured)
  std::optional<Candidate> chosen;  // its best candidate within budget
  bool budget_spent = false;        // it stopped because the budget ran out
  std::string note;                 // what it did, in words
};

// Runs one strategy with at most `max_evaluations` new measurements.
absl::StatusOr<StrategyOutcome> RunStrategy(Strategy s, const Problem& p, Evaluator& e, int64_t max_evaluations);

}  // namespace qbench::search
