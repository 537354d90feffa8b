#include "engine/search/strategies.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status.h"

namespace qbench::search {
namespace {

// Output noise over signal power of the layer alone at choice c: 10^(-SQNR/10), 0 for
// an exact one (FP32's SQNR is infinite).
double Noise(const LayerSignals& l, int c) {
  const double db = l.isolated_sqnr_db[c];
  return std::isfinite(db) ? std::pow(10.0, -db / 10) : 0;
}

// The move's place in each strategy's order (ascending).
double MoveKey(const Problem& p, Strategy s, const Move& m) {
  const LayerSignals& l = p.layers[m.layer];
  const Choice& from = p.choices[m.from];
  const Choice& to = p.choices[m.to];
  switch (s) {
    case Strategy::kEagl: {
      // The bits per weight the layer is predicted to lose: the entropy of its weights on
      // the grid it has now (8-bit for a float layer) above the width it moves to. Ties
      // (no bits lost, as for every move to 8 bits) go by that entropy: the layer whose
      // weights use the fewest levels is lowered first.
      const double h = from.kind == Choice::Kind::kInt ? l.entropy_bits[m.from] : l.entropy8_bits;
      const double lost = std::max(0.0, h - to.stored_bits());
      return lost * 100 + h;  // entropy < 100 bits: a lexicographic (lost, h) order
    }
    case Strategy::kSensitivity:
      return Noise(l, m.to);
    case Strategy::kAlps: {
      // Cost saved per point of measured accuracy lost, highest first.
      const double lost = std::max(p.epsilon_points, l.isolated_drop[m.to] - l.isolated_drop[m.from]);
      return -(l.cost[m.from] - l.cost[m.to]) / lost;
    }
    case Strategy::kFallback:
      break;
  }
  return 0;
}

Assignment Apply(Assignment a, const std::vector<Move>& moves, size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i) a[moves[i].layer] = moves[i].to;
  return a;
}

// Keeps the best (lowest objective) within-budget candidate seen.
void Consider(const Candidate& c, StrategyOutcome* o) {
  if (c.within_budget && (!o->chosen || c.objective < o->chosen->objective)) o->chosen = c;
}

// Evaluates `a` for the strategy; false (and budget_spent) when the budget ran out.
absl::StatusOr<bool> Try(Evaluator& e, const Assignment& a, Strategy s, int64_t cap, int64_t start,
                         StrategyOutcome* o, Candidate* out) {
  if (e.evaluations() - start >= cap) {
    o->budget_spent = true;
    return false;
  }
  auto c = e.Evaluate(a, StrategyOf(s).name);
  if (absl::IsOutOfRange(c.status())) {
    o->budget_spent = true;
    return false;
  }
  QB_RETURN_IF_ERROR(c.status());
  Consider(*c, o);
  *out = *std::move(c);
  return true;
}

// The peers' accuracy-driven fallback: every layer at the start choice, then the layers
// with the largest isolated accuracy loss returned to FP32 one at a time.
absl::Status Fallback(const Problem& p, Evaluator& e, int64_t cap, int64_t start, StrategyOutcome* o) {
  std::vector<size_t> order(p.layers.size());
  std::iota(order.begin(), order.end(), 0);
  const int s0 = p.fallback_start;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const LayerSignals &la = p.layers[a], &lb = p.layers[b];
    if (la.isolated_drop[s0] != lb.isolated_drop[s0]) return la.isolated_drop[s0] > lb.isolated_drop[s0];
    return Noise(la, s0) > Noise(lb, s0);
  });
  Assignment a(p.layers.size(), s0);
  Candidate c;
  size_t returned = 0;
  for (;;) {
    QB_ASSIGN_OR_RETURN(bool ran, Try(e, a, Strategy::kFallback, cap, start, o, &c));
    if (!ran || c.within_budget || returned == order.size()) break;
    a[order[returned++]] = p.fallback_to;
  }
  o->note = absl::StrCat("started with every layer at ", p.choices[s0].name, "; returned ", returned, " of ",
                         p.layers.size(), " layers to ", p.choices[p.fallback_to].name);
  return absl::OkStatus();
}

// EAGL and sensitivity: the moves in the strategy's order, and the longest prefix of
// them within budget, found by bisection (the drop grows with the prefix, up to noise).
absl::Status Descent(Strategy s, const Problem& p, Evaluator& e, int64_t cap, int64_t start, StrategyOutcome* o) {
  const std::vector<Move> moves = OrderedMoves(p, s);
  const Assignment top = TopAssignment(p);
  size_t lo = 0, hi = moves.size();  // the prefix of lo moves is within budget (none: FP32 itself)
  Candidate c;
  QB_ASSIGN_OR_RETURN(bool ran, Try(e, Apply(top, moves, 0, hi), s, cap, start, o, &c));
  if (ran && c.within_budget) lo = hi;
  while (ran && hi - lo > 1) {
    const size_t mid = lo + (hi - lo) / 2;
    QB_ASSIGN_OR_RETURN(ran, Try(e, Apply(top, moves, 0, mid), s, cap, start, o, &c));
    if (!ran) break;
    (c.within_budget ? lo : hi) = mid;
  }
  o->note = absl::StrCat("the first ", lo, " of ", moves.size(), " moves in ", StrategyOf(s).name,
                         " order stay within budget");
  return absl::OkStatus();
}

// ALPS: moves by cost saved per measured point lost; from the start, the next k
// applicable moves are applied and the model verified. Within budget and cheaper: kept,
// and k doubles. Otherwise k halves, and a single such move is backed off and its layer
// stays where it is.
absl::Status Alps(const Problem& p, Evaluator& e, int64_t cap, int64_t start, StrategyOutcome* o) {
  const std::vector<Move> moves = OrderedMoves(p, Strategy::kAlps);
  Assignment state = p.alps_start.empty() ? TopAssignment(p) : p.alps_start;
  std::vector<bool> frozen(p.layers.size(), false), done(moves.size(), false);
  size_t k = 1, accepted = 0, backed_off = 0;
  Candidate c;
  QB_ASSIGN_OR_RETURN(bool ran, Try(e, state, Strategy::kAlps, cap, start, o, &c));
  double objective = ran ? c.objective : 0;
  for (size_t pos = 0; ran && pos < moves.size();) {
    // The next k moves that still apply: their layer not frozen, and their start the
    // layer's choice once the moves before them in the batch are applied.
    std::vector<size_t> batch;
    Assignment trial = state;
    for (size_t i = pos; i < moves.size() && batch.size() < k; ++i) {
      const Move& m = moves[i];
      if (done[i] || frozen[m.layer] || trial[m.layer] != m.from) continue;
      trial[m.layer] = m.to;
      batch.push_back(i);
    }
    if (batch.empty()) break;
    QB_ASSIGN_OR_RETURN(ran, Try(e, trial, Strategy::kAlps, cap, start, o, &c));
    if (!ran) break;
    // Kept only when the model as measured is within budget and cheaper: the per-layer
    // costs miss what a mix adds (requantization and reorders between precisions).
    if (c.within_budget && c.objective < objective) {
      state = trial;
      objective = c.objective;
      for (size_t i : batch) done[i] = true;
      accepted += batch.size();
      k *= 2;
    } else if (batch.size() > 1) {
      k = std::max<size_t>(1, batch.size() / 2);
    } else {
      done[batch[0]] = true;
      frozen[moves[batch[0]].layer] = true;
      ++backed_off;
      k = 1;
    }
    while (pos < moves.size() && (done[pos] || frozen[moves[pos].layer])) ++pos;
  }
  o->note = absl::StrCat(accepted, " of ", moves.size(), " moves kept, ", backed_off,
                         " backed off (their layers kept their choice)",
                         p.alps_start.empty() ? "" : "; started from the cheapest uniform model within budget");
  return absl::OkStatus();
}

}  // namespace

std::vector<int> Ladder(const Problem& p, size_t l) {
  const LayerSignals& s = p.layers[l];
  std::vector<int> order(p.choices.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    if (Noise(s, a) != Noise(s, b)) return Noise(s, a) < Noise(s, b);
    return s.cost[a] > s.cost[b];
  });
  std::vector<int> rungs;
  for (int c : order)
    if (rungs.empty() || s.cost[c] < s.cost[rungs.back()] * (1 - p.min_relative_saving) - p.min_saving)
      rungs.push_back(c);
  return rungs;
}

Assignment TopAssignment(const Problem& p) {
  Assignment a(p.layers.size());
  for (size_t l = 0; l < p.layers.size(); ++l) a[l] = Ladder(p, l).front();
  return a;
}

std::vector<Move> OrderedMoves(const Problem& p, Strategy s) {
  std::vector<Move> moves;
  for (size_t l = 0; l < p.layers.size(); ++l) {
    const std::vector<int> rungs = Ladder(p, l);
    double floor = -INFINITY;
    for (size_t r = 1; r < rungs.size(); ++r) {
      Move m{l, rungs[r - 1], rungs[r], static_cast<int>(r), 0};
      m.key = std::max(floor, MoveKey(p, s, m));
      floor = m.key;
      moves.push_back(m);
    }
  }
  std::stable_sort(moves.begin(), moves.end(), [](const Move& a, const Move& b) {
    if (a.key != b.key) return a.key < b.key;
    return a.rung < b.rung;
  });
  return moves;
}

absl::StatusOr<StrategyOutcome> RunStrategy(Strategy s, const Problem& p, Evaluator& e, int64_t max_evaluations) {
  StrategyOutcome o;
  o.strategy = s;
  const int64_t start = e.evaluations();
  switch (s) {
    case Strategy::kFallback:
      QB_RETURN_IF_ERROR(Fallback(p, e, max_evaluations, start, &o));
      break;
    case Strategy::kEagl:
    case Strategy::kSensitivity:
      QB_RETURN_IF_ERROR(Descent(s, p, e, max_evaluations, start, &o));
      break;
    case Strategy::kAlps:
      QB_RETURN_IF_ERROR(Alps(p, e, max_evaluations, start, &o));
      break;
  }
  o.evaluations = e.evaluations() - start;
  if (o.budget_spent) absl::StrAppend(&o.note, "; stopped by the evaluation budget");
  return o;
}

}  // namespace qbench::search
