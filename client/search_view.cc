#include "client/search_view.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace qbench::client {
namespace {

namespace v1 = qbench::v1;

// "w8a8" when every layer has the same choice, else "mixed".
std::string Uniform(const v1::SearchCandidate& c) {
  if (c.assignment().empty()) return "";
  for (const std::string& a : c.assignment())
    if (a != c.assignment(0)) return "";
  return c.assignment(0);
}

std::string Marks(const v1::SearchResults& s, const v1::SearchCandidate& c) {
  std::vector<std::string> m;
  if (c.on_front()) m.push_back("front");
  if (c.key() == s.best_key()) m.push_back("BEST");
  if (c.key() == s.fallback_key()) m.push_back("fallback");
  if (!c.within_budget()) m.push_back("over budget");
  if (!c.timed()) m.push_back("accuracy only");
  return absl::StrJoin(m, ", ");
}

// Runs of the same choice: "w4a8+gptq x6, w2a8+gptq x2, w4a8+gptq x2".
std::string Runs(const v1::SearchCandidate& c) {
  std::vector<std::string> parts;
  for (int i = 0; i < c.assignment_size();) {
    int j = i;
    while (j < c.assignment_size() && c.assignment(j) == c.assignment(i)) ++j;
    parts.push_back(j - i > 1 ? absl::StrCat(c.assignment(i), " x", j - i) : c.assignment(i));
    i = j;
  }
  return absl::StrJoin(parts, ", ");
}

// What the budget bounds, in the table's words; a server before the rule existed judged
// the estimate.
const char* BudgetRuleWords(const std::string& rule) {
  return rule == "interval" ? "upper end of the 95% paired interval" : "measured drop";
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += ch;
    }
  }
  return out;
}

// One panel: x from `x_of` (log scale when the range spans over 4x), y = drop in points.
template <typename X>
std::string Panel(const v1::SearchResults& s, X x_of, const std::string& x_label, double left, double top) {
  constexpr double kW = 420, kH = 300, kPad = 50;
  std::vector<const v1::SearchCandidate*> pts;
  for (const auto& c : s.candidates())
    if (c.timed() && x_of(c) > 0 && std::isfinite(c.drop_points())) pts.push_back(&c);
  std::string g = absl::StrFormat(R"svg(<g transform="translate(%.0f,%.0f)">)svg", left, top);
  absl::StrAppend(&g, absl::StrFormat(R"svg(<rect x="%.0f" y="0" width="%.0f" height="%.0f" fill="none" stroke="#999"/>)svg",
                                      kPad, kW - kPad, kH - kPad));
  absl::StrAppend(&g, absl::StrFormat(R"svg(<text x="%.0f" y="%.0f" text-anchor="middle" font-size="12">%s</text>)svg",
                                      (kW + kPad) / 2, kH - 12, Escape(x_label)));
  absl::StrAppend(&g, absl::StrFormat(R"svg(<text x="12" y="%.0f" font-size="12" transform="rotate(-90 12 %.0f)" )svg"
                                      R"svg(text-anchor="middle">top-1 drop vs FP32, points (validation)</text>)svg",
                                      (kH - kPad) / 2, (kH - kPad) / 2));
  if (pts.empty()) return g + "</g>";
  double x0 = INFINITY, x1 = -INFINITY, y0 = std::min(0.0, -0.1), y1 = std::max(0.1, s.max_drop_points());
  for (const auto* c : pts) {
    x0 = std::min(x0, x_of(*c));
    x1 = std::max(x1, x_of(*c));
    y0 = std::min(y0, c->drop_points());
    y1 = std::max(y1, c->drop_points());
  }
  // Drops far over budget would squash the interesting part: clip at 3x the budget.
  y1 = std::min(y1, std::max(1.0, 3 * s.max_drop_points()));
  const bool log_x = x1 > 4 * x0;
  auto fx = [&](double v) {
    const double t = log_x ? (std::log(v) - std::log(x0)) / std::max(1e-12, std::log(x1) - std::log(x0))
                           : (v - x0) / std::max(1e-12, x1 - x0);
    return kPad + 10 + t * (kW - kPad - 20);
  };
  auto fy = [&](double v) { return 10 + (std::min(v, y1) - y0) / std::max(1e-12, y1 - y0) * (kH - kPad - 20); };
  // Axis ticks: the ends of each range.
  absl::StrAppend(&g, absl::StrFormat(R"svg(<text x="%.1f" y="%.0f" font-size="10" text-anchor="middle">%.3g</text>)svg",
                                      fx(x0), kH - kPad + 14, x0));
  absl::StrAppend(&g, absl::StrFormat(R"svg(<text x="%.1f" y="%.0f" font-size="10" text-anchor="middle">%.3g</text>)svg",
                                      fx(x1), kH - kPad + 14, x1));
  for (double v : {y0, 0.0, y1})
    absl::StrAppend(&g, absl::StrFormat(R"svg(<text x="%.0f" y="%.1f" font-size="10" text-anchor="end">%.2f</text>)svg",
                                        kPad - 4, fy(v) + 3, v));
  // The budget.
  absl::StrAppend(&g, absl::StrFormat(R"svg(<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#c33" )svg"
                                      R"svg(stroke-dasharray="4 3"/>)svg",
                                      kPad, kW, fy(s.max_drop_points()), fy(s.max_drop_points())));
  // The front, by x.
  std::vector<const v1::SearchCandidate*> front;
  for (const auto* c : pts)
    if (c->on_front()) front.push_back(c);
  std::sort(front.begin(), front.end(), [&](auto* a, auto* b) { return x_of(*a) < x_of(*b); });
  if (front.size() > 1) {
    std::string d;
    for (const auto* c : front) absl::StrAppend(&d, d.empty() ? "M" : " L", absl::StrFormat("%.1f %.1f", fx(x_of(*c)), fy(c->drop_points())));
    absl::StrAppend(&g, absl::StrFormat(R"svg(<path d="%s" fill="none" stroke="#2a6" stroke-width="1.5"/>)svg", d));
  }
  for (const auto* c : pts) {
    const double cx = fx(x_of(*c)), cy = fy(c->drop_points());
    const char* fill = c->on_front() ? "#2a6" : c->within_budget() ? "#48c" : "#bbb";
    absl::StrAppend(&g, absl::StrFormat(R"svg(<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s %s: drop %.2f, )svg"
                                        R"svg(%.3g</title></circle>)svg",
                                        cx, cy, fill, Escape(c->key()), Escape(c->strategy()), c->drop_points(),
                                        x_of(*c)));
    if (c->key() == s.best_key())
      absl::StrAppend(&g, absl::StrFormat(R"svg(<circle cx="%.1f" cy="%.1f" r="7" fill="none" stroke="#000" )svg"
                                          R"svg(stroke-width="1.5"/><text x="%.1f" y="%.1f" font-size="10">best</text>)svg",
                                          cx, cy, cx + 8, cy + 12));
    if (c->key() == s.fallback_key() && c->key() != s.best_key())
      absl::StrAppend(&g, absl::StrFormat(R"svg(<rect x="%.1f" y="%.1f" width="12" height="12" fill="none" )svg"
                                          R"svg(stroke="#a50"/><text x="%.1f" y="%.1f" font-size="10">fallback</text>)svg",
                                          cx - 6, cy - 6, cx + 8, cy + 12));
    if (const std::string u = Uniform(*c); !u.empty())
      absl::StrAppend(&g, absl::StrFormat(R"svg(<text x="%.1f" y="%.1f" font-size="10" fill="#555">%s</text>)svg", cx + 5,
                                          cy - 5, Escape(u)));
  }
  return g + "</g>";
}

// The proto3 JSON mapping writes int64 fields as strings (JSON numbers lose precision
// past 2^53). Counts and byte sizes in search results stay far below that, so scripts
// get numbers: every int64 field below `d`, repeated and nested ones included.
void Int64sAsNumbers(const google::protobuf::Descriptor& d, nlohmann::json* j) {
  if (!j->is_object()) return;
  auto number = [](nlohmann::json* v) {
    int64_t n = 0;
    if (v->is_string() && absl::SimpleAtoi(v->get<std::string>(), &n)) *v = n;
  };
  for (int i = 0; i < d.field_count(); ++i) {
    const google::protobuf::FieldDescriptor& f = *d.field(i);
    auto it = j->find(f.name());
    if (it == j->end()) continue;
    std::vector<nlohmann::json*> values;
    if (f.is_repeated() && it->is_array()) {
      for (nlohmann::json& e : *it) values.push_back(&e);
    } else {
      values.push_back(&*it);
    }
    for (nlohmann::json* v : values) {
      if (f.cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_INT64) number(v);
      if (f.cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) Int64sAsNumbers(*f.message_type(), v);
    }
  }
}

}  // namespace

std::string FormatSearchTable(const v1::SearchResults& s, bool all) {
  int front = 0;
  for (const auto& c : s.candidates()) front += c.on_front();
  std::string out;
  if (s.finished()) {
    out = absl::StrFormat(
        "search: max drop %.2f points (validation, %s), objective %s at batch %d; %d layers x %d choices; %d "
        "candidates (%d signal + %d strategy evaluations, %d reused from an earlier attempt), %d on the front, %.1f s\n",
        s.max_drop_points(), BudgetRuleWords(s.budget_rule()), s.objective(), s.batch_size(), s.layers_size(), s.choices_size(), s.candidates_size(),
        s.signal_evaluations(), s.candidate_evaluations(), s.reused(), front, s.seconds());
  } else {
    out = absl::StrFormat("search (running): %d candidates so far\n", s.candidates_size());
  }
  for (const std::string& n : s.notes()) absl::StrAppend(&out, "  note: ", n, "\n");
  for (const auto& t : s.strategies())
    absl::StrAppend(&out, absl::StrFormat("  %-12s %3d evals, chose %s: %s\n", t.strategy(), t.evaluations(),
                                          t.chosen_key().empty() ? "none" : t.chosen_key(), t.note()));
  for (const auto& c : s.correlations())
    absl::StrAppend(&out, absl::StrFormat("  predicting %s over %d layers: EAGL rank correlation %+.2f, sensitivity "
                                          "%+.2f\n",
                                          c.choice(), c.layers(), c.eagl_spearman(), c.sensitivity_spearman()));
  std::vector<const v1::SearchCandidate*> rows;
  for (const auto& c : s.candidates())
    if (all || c.on_front() || !Uniform(c).empty() || c.key() == s.best_key() || c.key() == s.fallback_key())
      if (c.timed() || all) rows.push_back(&c);
  std::stable_sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->objective() < b->objective(); });
  absl::StrAppend(&out, absl::StrFormat("  %-11s %-24s %10s %10s %9s %9s  %-30s %s\n", "STRATEGY", "DROP [95% CI] PTS",
                                        "MS/BATCH", "BYTES", "UJ/SAMPLE", "OBJECTIVE", "MARKS", "LAYERS"));
  for (const auto* c : rows)
    absl::StrAppend(
        &out, absl::StrFormat("  %-11s %-24s %10.3f %10d %9.2f %9.3f  %-30s %s\n", c->strategy(),
                              absl::StrFormat("%.2f [%.2f, %.2f]", c->drop_points(), -c->delta_ci_high_points(),
                                              -c->delta_ci_low_points()),
                              c->latency_ms(), c->model_size_bytes(), 1e6 * c->energy_joules_per_sample(),
                              c->objective(), Marks(s, *c), Runs(*c)));
  if (!all && static_cast<int>(rows.size()) < s.candidates_size())
    absl::StrAppend(&out, "  (", s.candidates_size() - rows.size(), " more candidates: --all-candidates)\n");
  return out;
}

std::string FrontSvg(const v1::SearchResults& s, const std::string& title) {
  std::string svg =
      R"svg(<svg xmlns="http://www.w3.org/2000/svg" width="880" height="360" font-family="sans-serif">)svg"
      R"svg(<rect width="880" height="360" fill="#fff"/>)svg";
  absl::StrAppend(&svg, absl::StrFormat(
                            R"svg(<text x="440" y="18" text-anchor="middle" font-size="14">%s: max drop %.2f points, )svg"
                            R"svg(objective %s; green: the front; ringed: chosen</text>)svg",
                            Escape(title), s.max_drop_points(), Escape(s.objective())));
  absl::StrAppend(&svg, Panel(s, [](const v1::SearchCandidate& c) { return c.latency_ms(); },
                              absl::StrCat("quick latency, ms per batch of ", s.batch_size()), 0, 40));
  absl::StrAppend(&svg, Panel(s, [](const v1::SearchCandidate& c) { return static_cast<double>(c.model_size_bytes()); },
                              "model size, bytes", 440, 40));
  return svg + "</svg>\n";
}

std::string SearchJson(const v1::SearchResults& s, const std::string& job) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string text;
  // Printing a well-formed message cannot fail; an empty object is what it would give.
  if (!google::protobuf::util::MessageToJsonString(s, &text, options).ok()) text = "{}";
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) j = nlohmann::json::object();
  Int64sAsNumbers(*v1::SearchResults::descriptor(), &j);
  j["job"] = job;
  return j.dump(2) + "\n";
}

}  // namespace qbench::client
