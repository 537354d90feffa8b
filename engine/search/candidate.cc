#include "engine/search/candidate.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace qbench::search {

using json = nlohmann::json;

std::string AssignmentKey(const Assignment& a) {
  std::string k;
  for (size_t i = 0; i < a.size(); ++i) absl::StrAppend(&k, i ? "." : "", a[i]);
  return k;
}

std::optional<Assignment> ParseAssignmentKey(const std::string& key, size_t layers, size_t choices) {
  Assignment a;
  if (key.size() > layers * 4) return std::nullopt;  // bounds the split below
  for (absl::string_view part : absl::StrSplit(key, '.')) {
    int v = 0;
    if (!absl::SimpleAtoi(part, &v) || v < 0 || static_cast<size_t>(v) >= choices) return std::nullopt;
    a.push_back(v);
  }
  if (a.size() != layers) return std::nullopt;
  return a;
}

json CandidateToJson(const Candidate& c) {
  return {{"id", c.id},
          {"key", c.key},
          {"strategy", c.strategy},
          {"assignment", c.assignment},
          {"samples", c.samples},
          {"top1", c.top1},
          {"drop_points", c.drop_points},
          {"ci_low", c.ci_low},
          {"ci_high", c.ci_high},
          {"output_sqnr_db", std::isfinite(c.output_sqnr_db) ? json(c.output_sqnr_db) : json(nullptr)},
          {"timed", c.timed},
          {"batch", c.batch},
          {"latency_ms", c.latency_ms},
          {"latency_ci_low", c.latency_ci_low},
          {"latency_ci_high", c.latency_ci_high},
          {"bytes", c.bytes},
          {"energy_joules", c.energy_joules},
          {"objective", c.objective},
          {"within_budget", c.within_budget},
          {"on_front", c.on_front},
          {"reused", c.reused},
          {"seconds", c.seconds}};
}

bool CandidateFromJson(const json& j, Candidate* c) {
  if (!j.is_object()) return false;
  try {
    c->id = j.at("id").get<int64_t>();
    c->key = j.at("key").get<std::string>();
    c->strategy = j.at("strategy").get<std::string>();
    c->assignment = j.at("assignment").get<Assignment>();
    c->samples = j.at("samples").get<int64_t>();
    c->top1 = j.at("top1").get<double>();
    c->drop_points = j.at("drop_points").get<double>();
    c->ci_low = j.at("ci_low").get<double>();
    c->ci_high = j.at("ci_high").get<double>();
    const json& s = j.at("output_sqnr_db");
    c->output_sqnr_db = s.is_null() ? INFINITY : s.get<double>();
    c->timed = j.at("timed").get<bool>();
    c->batch = j.value("batch", int64_t{0});
    c->latency_ms = j.at("latency_ms").get<double>();
    c->latency_ci_low = j.at("latency_ci_low").get<double>();
    c->latency_ci_high = j.at("latency_ci_high").get<double>();
    c->bytes = j.at("bytes").get<int64_t>();
    c->energy_joules = j.at("energy_joules").get<double>();
    c->objective = j.at("objective").get<double>();
    c->seconds = j.at("seconds").get<double>();
  } catch (const json::exception&) {
    return false;
  }
  return true;
}

json LayerSignalsToJson(const LayerSignals& l, const std::vector<Choice>& choices) {
  json per = json::object();
  for (size_t c = 0; c < choices.size(); ++c) {
    json x = {{"latency_ms", l.latency_ms[c]}, {"bytes", l.bytes[c]}, {"energy_joules", l.energy_joules[c]},
              {"cost", l.cost[c]}, {"isolated_drop_points", l.isolated_drop[c]}};
    x["isolated_output_sqnr_db"] = std::isfinite(l.isolated_sqnr_db[c]) ? json(l.isolated_sqnr_db[c]) : json(nullptr);
    if (choices[c].kind == Choice::Kind::kInt) x["entropy_bits"] = l.entropy_bits[c];
    per[choices[c].name] = x;
  }
  return {{"node", l.node}, {"op_type", l.op_type}, {"weights", l.weights}, {"entropy8_bits", l.entropy8_bits},
          {"choices", per}};
}

void MarkParetoFront(std::vector<Candidate>* candidates) {
  auto& cs = *candidates;
  for (Candidate& a : cs) {
    a.on_front = a.timed;
    if (!a.timed) continue;
    for (const Candidate& b : cs) {
      if (&a == &b || !b.timed) continue;
      const bool no_worse = b.drop_points <= a.drop_points && b.objective <= a.objective;
      const bool better = b.drop_points < a.drop_points || b.objective < a.objective;
      if (no_worse && better) {
        a.on_front = false;
        break;
      }
    }
  }
}

namespace {

// Ranks 1..n, ties sharing their average rank.
std::vector<double> Ranks(const std::vector<double>& v) {
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    for (size_t k = i; k <= j; ++k) r[idx[k]] = (i + j) / 2.0 + 1;
    i = j + 1;
  }
  return r;
}

}  // namespace

double Spearman(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = std::min(x.size(), y.size());
  if (n < 3) return 0;
  const std::vector<double> rx = Ranks({x.begin(), x.begin() + n}), ry = Ranks({y.begin(), y.begin() + n});
  // Pearson's correlation of the ranks (exact with ties, unlike the 1 - 6 sum d^2 form).
  const double mx = std::accumulate(rx.begin(), rx.end(), 0.0) / n, my = std::accumulate(ry.begin(), ry.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) * (rx[i] - mx);
    syy += (ry[i] - my) * (ry[i] - my);
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0;
}

}  // namespace qbench::search
