// The search's spec parser, candidates and strategies, the strategies run against a
// synthetic evaluator whose accuracy and cost are known in closed form.
#include <map>
#include <numeric>

#include <gtest/gtest.h>

#include "engine/search/candidate.h"
#include "spec/search_spec.h"
#include "engine/search/strategies.h"

namespace qbench::search {
namespace {

using json = nlohmann::json;

TEST(SearchSpecTest, ParsesChoicesAndDefaults) {
  auto s = ParseSearchSpec(json::parse(R"({"max_drop": 1.0})"), {});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->enabled);
  EXPECT_EQ(s->max_drop, 1.0);
  EXPECT_EQ(s->objective.name, "latency");
  EXPECT_EQ(s->batch_size, 64);
  ASSERT_EQ(s->choices.size(), 4u);
  EXPECT_EQ(s->choices[0].kind, Choice::Kind::kFp32);
  EXPECT_EQ(s->choices[1].kind, Choice::Kind::kBf16);
  EXPECT_EQ(s->choices[3].weight_bits, 4);
  EXPECT_EQ(s->strategies.size(), 4u);
  EXPECT_EQ(s->base.weights.bits, 8);
  EXPECT_EQ(s->budget_rule, BudgetRule::kEstimate);

  auto c = ParseChoice("w2a8+gptq", "x");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->weight_bits, 2);
  EXPECT_EQ(c->activation_bits, 8);
  EXPECT_EQ(c->stored_bits(), 2);
  ASSERT_TRUE(c->rounding.has_value());
  EXPECT_EQ(*c->rounding, quant::Rounding::kGptq);
  EXPECT_EQ(ParseChoice("bf16", "x")->stored_bits(), 16);
}

TEST(SearchSpecTest, MixedObjectiveAndBudget) {
  auto s = ParseSearchSpec(json::parse(R"({"objective": {"latency": 1, "size": 0.5},
      "choices": ["fp32", "w8a8", "w4a8+adaround"], "strategies": ["alps", "fallback"],
      "budget": {"evaluations": 7, "minutes": 2.5}, "batch_size": 8, "base": {"preset": "w8a8",
      "weights": {"method": "mse"}}, "budget_rule": "interval"})"),
                           {});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->objective.name, "mix");
  EXPECT_EQ(s->objective.size, 0.5);
  EXPECT_EQ(s->max_evaluations, 7);
  EXPECT_EQ(s->max_minutes, 2.5);
  ASSERT_EQ(s->strategies.size(), 2u);
  EXPECT_EQ(s->strategies[0], Strategy::kAlps);
  EXPECT_EQ(s->choices[2].rounding, quant::Rounding::kAdaround);
  // Written back into results with every field.
  const json j = SearchSpecToJson(*s);
  EXPECT_EQ(j["objective"]["size"], 0.5);
  EXPECT_EQ(j["choices"][2], "w4a8+adaround");
  EXPECT_EQ(j["strategies"][0], "alps");
  EXPECT_EQ(j["budget"]["evaluations"], 7);
  EXPECT_EQ(j["batch_size"], 8);
  EXPECT_EQ(j["base"]["weights"]["method"], "mse");
  EXPECT_EQ(j["budget_rule"], "interval");
}

TEST(SearchSpecTest, BudgetRuleJudgesTheEstimateOrTheIntervalsUpperEnd) {
  SearchSpec s;
  s.max_drop = 0.5;
  // drop 0.3 points, interval of the delta [-0.7, +0.1]: the drop may be as large as 0.7.
  EXPECT_TRUE(WithinBudget(s, 0.3, -0.7));
  EXPECT_TRUE(WithinBudget(s, 0.5, -0.9));  // at the budget exactly
  EXPECT_FALSE(WithinBudget(s, 0.6, -0.2));
  s.budget_rule = BudgetRule::kInterval;
  EXPECT_FALSE(WithinBudget(s, 0.3, -0.7));
  EXPECT_TRUE(WithinBudget(s, 0.3, -0.5));
  EXPECT_TRUE(WithinBudget(s, -0.2, 0.1));  // better than FP32 throughout
  EXPECT_EQ(JudgedDrop(BudgetRule::kInterval, 0.3, -0.7), 0.7);
  EXPECT_EQ(JudgedDrop(BudgetRule::kEstimate, 0.3, -0.7), 0.3);
}

TEST(SearchSpecTest, ErrorsNameTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"max_drop": -1})", "search.max_drop"},
      {R"({"max_drop": 1e400})", ""},  // not reached: the JSON parser refuses it first
      {R"({"speed": 1})", "search.speed"},
      {R"({"budget_rule": "median"})", "search.budget_rule"},
      {R"({"budget_rule": 1})", "search.budget_rule"},
      {R"({"objective": "joy"})", "search.objective"},
      {R"({"objective": {"latency": 0}})", "search.objective"},
      {R"({"choices": ["fp32"]})", "search.choices"},
      {R"({"choices": ["fp32", "bf16"]})", "search.choices"},
      {R"({"choices": ["fp32", "w9a8"]})", "search.choices[1]"},
      {R"({"choices": ["fp32", "w4a8+magic"]})", "search.choices[1]"},
      {R"({"choices": ["fp32", "w4a8+block"]})", "search.choices[1]"},
      {R"({"choices": ["w4a8", "w4a8"]})", "search.choices[1]"},
      {R"({"choices": ["fp32+gptq", "w8a8"]})", "search.choices[0]"},
      {R"({"strategies": ["alps", "alps"]})", "search.strategies[1]"},
      {R"({"strategies": ["random"]})", "search.strategies[0]"},
      {R"({"budget": {"evaluations": 0}})", "search.budget.evaluations"},
      {R"({"budget": {"minutes": 0}})", "search.budget.minutes"},
      {R"({"batch_size": 5000})", "search.batch_size"},
      {R"({"base": "fp32"})", "search.base"},
      {R"({"base": "w8a8-dynamic"})", "search.base"},
      {R"({"base": {"preset": "w8a8", "overrides": [{"node": "a", "fp32": true}]}})", "search.base.overrides"},
      {R"({"latency": {"min_iters": 0}})", "search.latency.min_iters"},
  };
  for (const auto& [text, field] : cases) {
    if (std::string(field).empty()) continue;
    auto s = ParseSearchSpec(json::parse(text), {});
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_NE(s.status().message().find(std::string("\"") + field + "\""), std::string::npos)
        << text << " -> " << s.status().message();
  }
}

TEST(CandidateTest, KeysRoundTripAndRejectMalformed) {
  const Assignment a = {0, 3, 2, 2};
  EXPECT_EQ(AssignmentKey(a), "0.3.2.2");
  EXPECT_EQ(ParseAssignmentKey("0.3.2.2", 4, 4), a);
  EXPECT_FALSE(ParseAssignmentKey("0.3.2.2", 4, 3).has_value());  // index 3 of 3 choices
  EXPECT_FALSE(ParseAssignmentKey("0.3.2", 4, 4).has_value());
  EXPECT_FALSE(ParseAssignmentKey("0.x.2.2", 4, 4).has_value());
  EXPECT_FALSE(ParseAssignmentKey("-1.0.0.0", 4, 4).has_value());
  EXPECT_FALSE(ParseAssignmentKey(std::string(1000, '1'), 4, 4).has_value());

  Candidate c;
  c.id = 3;
  c.key = AssignmentKey(a);
  c.assignment = a;
  c.strategy = "alps";
  c.drop_points = 0.25;
  c.timed = true;
  c.latency_ms = 1.5;
  c.bytes = 1234;
  c.output_sqnr_db = INFINITY;
  Candidate back;
  ASSERT_TRUE(CandidateFromJson(CandidateToJson(c), &back));
  EXPECT_EQ(back.assignment, a);
  EXPECT_EQ(back.drop_points, 0.25);
  EXPECT_EQ(back.bytes, 1234);
  EXPECT_TRUE(std::isinf(back.output_sqnr_db));
  json broken = CandidateToJson(c);
  broken["bytes"] = "many";
  EXPECT_FALSE(CandidateFromJson(broken, &back));
  EXPECT_FALSE(CandidateFromJson(json::array(), &back));
}

TEST(CandidateTest, ParetoFrontAndSpearman) {
  auto cand = [](double drop, double obj, bool timed = true) {
    Candidate c;
    c.drop_points = drop;
    c.objective = obj;
    c.timed = timed;
    return c;
  };
  std::vector<Candidate> cs = {cand(0, 1.0), cand(0.2, 0.6), cand(0.3, 0.7), cand(1.0, 0.3), cand(1.0, 0.4),
                               cand(-1, 0.1, false)};
  MarkParetoFront(&cs);
  EXPECT_TRUE(cs[0].on_front);
  EXPECT_TRUE(cs[1].on_front);
  EXPECT_FALSE(cs[2].on_front);  // dominated by (0.2, 0.6)
  EXPECT_TRUE(cs[3].on_front);
  EXPECT_FALSE(cs[4].on_front);  // same drop as (1.0, 0.3), worse objective
  EXPECT_FALSE(cs[5].on_front);  // untimed: not a point of the front

  EXPECT_NEAR(Spearman({1, 2, 3, 4}, {10, 20, 30, 40}), 1, 1e-12);
  EXPECT_NEAR(Spearman({1, 2, 3, 4}, {4, 3, 2, 1}), -1, 1e-12);
  EXPECT_NEAR(Spearman({1, 2, 3, 4, 5}, {2, 1, 4, 3, 5}), 0.8, 1e-12);
  EXPECT_EQ(Spearman({1, 1, 1}, {1, 2, 3}), 0);
  // Ties share their average rank: x ranks 1.5 1.5 3, y ranks 1 2 3.
  EXPECT_NEAR(Spearman({5, 5, 7}, {1, 2, 3}), 0.8660254037844386, 1e-12);
}

// A problem with closed-form answers: the model's drop is the sum of its layers'
// isolated drops (times `interaction` for layers lowered together past 8 bits), its
// objective the sum of their costs.
struct Synthetic : Evaluator {
  const Problem& p;
  double interaction = 1;
  std::map<std::string, Candidate> seen;
  int64_t measured = 0;
  explicit Synthetic(const Problem& problem) : p(problem) {}

  absl::StatusOr<Candidate> Evaluate(const Assignment& a, const std::string& strategy) override {
    const std::string key = AssignmentKey(a);
    if (auto it = seen.find(key); it != seen.end()) return it->second;
    Candidate c;
    c.key = key;
    c.assignment = a;
    c.strategy = strategy;
    c.timed = true;
    int low = 0;
    for (size_t l = 0; l < a.size(); ++l) {
      c.drop_points += p.layers[l].isolated_drop[a[l]];
      c.objective += p.layers[l].cost[a[l]];
      low += p.choices[a[l]].kind == Choice::Kind::kInt && p.choices[a[l]].weight_bits < 8;
    }
    if (low > 1) c.drop_points *= interaction;
    c.within_budget = c.drop_points <= p.max_drop;
    c.id = measured++;
    seen[key] = c;
    return c;
  }
  int64_t evaluations() const override { return measured; }
};

Problem MakeProblem(bool latency) {
  Problem p;
  for (const char* c : {"fp32", "w8a8", "w4a8"}) p.choices.push_back(*ParseChoice(c, "x"));
  // Eight layers; layer i's W4 drop grows with i, its size with 8 - i.
  for (int i = 0; i < 8; ++i) {
    LayerSignals l;
    l.node = "layer" + std::to_string(i);
    const double size = 8 - i;
    // Latency: int8 halves the layer's time; W4 runs on the same kernel (no saving).
    l.cost = latency ? std::vector<double>{size, size / 2, size / 2} : std::vector<double>{size, size / 4, size / 8};
    l.isolated_drop = {0, 0.01 * i, 0.2 * (i + 1)};
    l.isolated_sqnr_db = {INFINITY, 40.0 - i, 20.0 - i};
    l.entropy_bits = {0, 7.0, 3.5};
    l.entropy8_bits = 5 + 0.3 * i;  // lower layers use fewer levels
    p.layers.push_back(l);
  }
  p.max_drop = 0.5;
  p.fallback_start = 1;
  p.fallback_to = 0;
  p.epsilon_points = 0.01;
  if (latency) p.min_relative_saving = 0.03;
  return p;
}

TEST(StrategiesTest, LadderDropsChoicesThatSaveNothing) {
  const Problem lat = MakeProblem(true), size = MakeProblem(false);
  EXPECT_EQ(Ladder(lat, 0), (std::vector<int>{0, 1}));  // W4: no faster than W8
  EXPECT_EQ(Ladder(size, 0), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(TopAssignment(size), Assignment(8, 0));
  // Moves keep each layer's ladder order whatever the key.
  for (Strategy s : {Strategy::kEagl, Strategy::kSensitivity, Strategy::kAlps}) {
    std::map<size_t, int> rung;
    for (const Move& m : OrderedMoves(size, s)) {
      EXPECT_EQ(m.rung, rung[m.layer] + 1) << StrategyOf(s).name;
      rung[m.layer] = m.rung;
    }
    EXPECT_EQ(OrderedMoves(size, s).size(), 16u);
  }
}

TEST(StrategiesTest, EveryStrategyEndsWithinBudget) {
  for (bool latency : {true, false}) {
    const Problem p = MakeProblem(latency);
    for (int s = 0; s < kStrategyCount; ++s) {
      Synthetic e(p);
      auto o = RunStrategy(kStrategies[s].strategy, p, e, 100);
      ASSERT_TRUE(o.ok()) << o.status();
      ASSERT_TRUE(o->chosen.has_value()) << kStrategies[s].name;
      EXPECT_TRUE(o->chosen->within_budget);
      EXPECT_LE(o->chosen->drop_points, p.max_drop);
      EXPECT_LT(o->chosen->objective, 36.0) << kStrategies[s].name;  // FP32's objective: 8 + 7 + ... + 1
      EXPECT_EQ(o->evaluations, e.measured);
      EXPECT_FALSE(o->budget_spent);
      if (latency)  // W4 saves no time: no strategy but the fallback's start puts a layer there
        for (int c : o->chosen->assignment) EXPECT_NE(c, 2) << kStrategies[s].name;
    }
  }
}

TEST(StrategiesTest, AlpsBeatsTheFallbackOnSize) {
  const Problem p = MakeProblem(false);
  Synthetic fe(p), ae(p);
  auto f = RunStrategy(Strategy::kFallback, p, fe, 100);
  auto a = RunStrategy(Strategy::kAlps, p, ae, 100);
  ASSERT_TRUE(f.ok() && a.ok());
  ASSERT_TRUE(f->chosen && a->chosen);
  // All-W8A8 is within budget (drop 0.28), so the fallback stops there: 36 / 4 = 9.
  EXPECT_NEAR(f->chosen->objective, 9.0, 1e-9);
  EXPECT_EQ(f->evaluations, 1);
  // ALPS also takes the cheapest W4 layers the budget allows.
  EXPECT_LT(a->chosen->objective, f->chosen->objective);
  // Bisection: the descents need far fewer evaluations than there are moves.
  Synthetic de(p);
  auto d = RunStrategy(Strategy::kSensitivity, p, de, 100);
  ASSERT_TRUE(d.ok() && d->chosen);
  EXPECT_LE(d->evaluations, 6);
}

TEST(StrategiesTest, AlpsBacksOffWhenLayersInteract) {
  // Layers lowered to W4 together lose three times their isolated sum: the isolated
  // signals are optimistic, and the verification must catch it.
  const Problem p = MakeProblem(false);
  Synthetic e(p);
  e.interaction = 3;
  auto a = RunStrategy(Strategy::kAlps, p, e, 100);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->chosen);
  EXPECT_LE(a->chosen->drop_points, p.max_drop);
  EXPECT_NE(a->note.find("backed off"), std::string::npos);
  int w4 = 0;
  for (int c : a->chosen->assignment) w4 += c == 2;
  EXPECT_LE(w4, 1);  // two W4 layers together cost at least 3 * (0.2 + 0.4) = 1.8 points
}

TEST(StrategiesTest, BudgetStopsAStrategy) {
  const Problem p = MakeProblem(false);
  Synthetic e(p);
  e.interaction = 3;
  auto a = RunStrategy(Strategy::kAlps, p, e, 2);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->evaluations, 2);
  EXPECT_TRUE(a->budget_spent);
  EXPECT_NE(a->note.find("budget"), std::string::npos);
}

}  // namespace
}  // namespace qbench::search
