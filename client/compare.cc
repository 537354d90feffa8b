#include "client/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace qbench::client {
namespace {

namespace v1 = qbench::v1;

// Pareto criteria: higher top-1, lower p50, smaller model. A criterion that either row
// lacks is not compared (rows without latency compete on accuracy and size alone).
bool Dominates(const CompareRow& a, const CompareRow& b) {
  struct Criterion {
    std::optional<double> CompareRow::*field;
    bool higher_is_better;
  };
  static constexpr Criterion kCriteria[] = {
      {&CompareRow::top1_pct, true}, {&CompareRow::p50_ms, false}, {&CompareRow::size_kib, false}};
  bool strictly = false;
  for (const Criterion& c : kCriteria) {
    const auto &x = a.*c.field, &y = b.*c.field;
    if (!x || !y) continue;
    const double gain = c.higher_is_better ? *x - *y : *y - *x;
    if (gain < 0) return false;
    strictly = strictly || gain > 0;
  }
  return strictly;
}

void MarkPareto(std::vector<CompareRow>& rows) {
  for (CompareRow& r : rows) {
    if (!r.error.empty() || !r.top1_pct) continue;
    r.pareto = std::none_of(rows.begin(), rows.end(), [&](const CompareRow& o) {
      return &o != &r && o.job == r.job && o.device == r.device && o.batch_size == r.batch_size && o.error.empty() && o.top1_pct &&
             Dominates(o, r);
    });
  }
}

std::string EnergySourceName(v1::EnergySource s) {
  return s == v1::ENERGY_SOURCE_UNSPECIFIED ? "" : v1::EnergySource_Name(s);
}

// ---- output columns: one table drives the text table, CSV and JSON -------------------

// kMedianCi: p50 with its confidence interval, one text cell (the table only); kDeltaCi
// the same for the top-1 delta with the not-significant marker. kCount: a count where 0
// is a value (unset is empty); kBool: true/false or unset.
enum class Kind { kText, kNumber, kInt, kFlag, kMedianCi, kCount, kBool, kDeltaCi };

// Where a column appears: the text table leaves out long or redundant columns, the data
// formats (CSV, JSON) leave out the table's composite cells.
enum Where : unsigned { kTable = 1, kData = 2, kBoth = kTable | kData, kDevices = 4 };

struct Column {
  const char* title;   // text table header
  const char* key;     // CSV header and JSON key
  Kind kind;
  const char* format;  // printf format of a number
  std::string CompareRow::*text;
  std::optional<double> CompareRow::*number;
  unsigned where;
  int64_t CompareRow::*integer = nullptr;  // kInt: 0 is unset
  std::optional<int64_t> CompareRow::*count = nullptr;  // kCount
  std::optional<bool> CompareRow::*flag = nullptr;      // kBool
};

// Marks a top-1 delta whose 95% interval holds 0 (indistinguishable from noise).
constexpr char kNotSignificant[] = "~";

// CSV keeps the columns of earlier versions at their positions: new ones go before
// ERROR, which stays last.
constexpr Column kColumns[] = {
    {"JOB", "job", Kind::kText, nullptr, &CompareRow::job, nullptr, kBoth},
    {"CONFIG", "config", Kind::kText, nullptr, &CompareRow::config, nullptr, kBoth},
    {"DEVICE", "device", Kind::kText, nullptr, &CompareRow::device, nullptr, kData},
    {"DEVICE", "device_id", Kind::kText, nullptr, &CompareRow::device_id, nullptr, kDevices},
    {"BATCH", "batch_size", Kind::kInt, nullptr, nullptr, nullptr, kBoth, &CompareRow::batch_size},
    {"TOP1%", "top1_pct", Kind::kNumber, "%.2f", nullptr, &CompareRow::top1_pct, kBoth},
    {"TIES", "tied_top1", Kind::kCount, nullptr, nullptr, nullptr, kTable, nullptr, &CompareRow::tied_top1},
    {"dTOP1(pts)", "delta_top1_pts", Kind::kNumber, "%+.2f", nullptr, &CompareRow::delta_top1_pts, kData},
    {"dTOP1(pts) [95% CI]", "delta_top1_ci", Kind::kDeltaCi, "%+.2f", nullptr, &CompareRow::delta_top1_pts, kTable},
    {"P", "delta_p_value", Kind::kNumber, "%.3g", nullptr, &CompareRow::delta_p_value, kTable},
    {"AGREE%", "agreement_pct", Kind::kNumber, "%.2f", nullptr, &CompareRow::agreement_pct, kBoth},
    {"DIFFERS", "differs_from_engine", Kind::kCount, nullptr, nullptr, nullptr, kDevices, nullptr,
     &CompareRow::differs_from_engine},
    {"SQNR(dB)", "sqnr_db", Kind::kNumber, "%.1f", nullptr, &CompareRow::sqnr_db, kBoth},
    {"SIZE(KiB)", "size_kib", Kind::kNumber, "%.1f", nullptr, &CompareRow::size_kib, kBoth},
    {"SIZE/FP32", "size_ratio", Kind::kNumber, "%.3f", nullptr, &CompareRow::size_ratio, kBoth},
    {"P50(ms)", "p50_ms", Kind::kNumber, "%.3f", nullptr, &CompareRow::p50_ms, kData},
    {"P50(ms) [CI]", "p50_ci", Kind::kMedianCi, "%.3f", nullptr, &CompareRow::p50_ms, kTable},
    {"P99(ms)", "p99_ms", Kind::kNumber, "%.3f", nullptr, &CompareRow::p99_ms, kBoth},
    {"P50/FP32", "latency_ratio", Kind::kNumber, "%.2f", nullptr, &CompareRow::latency_ratio, kBoth},
    {"SAMPLES/s", "throughput_per_s", Kind::kNumber, "%.1f", nullptr, &CompareRow::throughput_per_s, kBoth},
    {"J/SAMPLE", "energy_j_per_sample", Kind::kNumber, "%.4g", nullptr, &CompareRow::energy_j_per_sample, kBoth},
    {"ENERGY", "energy_source", Kind::kText, nullptr, &CompareRow::energy_source, nullptr, kBoth},
    {"PARETO", "pareto", Kind::kFlag, nullptr, nullptr, nullptr, kBoth},
    {"P90(ms)", "p90_ms", Kind::kNumber, "%.3f", nullptr, &CompareRow::p90_ms, kData},
    {"P99.9(ms)", "p999_ms", Kind::kNumber, "%.3f", nullptr, &CompareRow::p999_ms, kData},
    {"MIN(ms)", "min_ms", Kind::kNumber, "%.3f", nullptr, &CompareRow::min_ms, kData},
    {"MAX(ms)", "max_ms", Kind::kNumber, "%.3f", nullptr, &CompareRow::max_ms, kData},
    {"MEAN(ms)", "mean_ms", Kind::kNumber, "%.3f", nullptr, &CompareRow::mean_ms, kData},
    {"P50 CI LOW(ms)", "median_ci_low_ms", Kind::kNumber, "%.3f", nullptr, &CompareRow::median_ci_low_ms, kData},
    {"P50 CI HIGH(ms)", "median_ci_high_ms", Kind::kNumber, "%.3f", nullptr, &CompareRow::median_ci_high_ms, kData},
    {"SESSIONS", "latency_sessions", Kind::kInt, nullptr, nullptr, nullptr, kData, &CompareRow::latency_sessions},
    {"CI METHOD", "latency_method", Kind::kText, nullptr, &CompareRow::latency_method, nullptr, kData},
    {"SAMPLES", "samples", Kind::kCount, nullptr, nullptr, nullptr, kData, nullptr, &CompareRow::samples},
    {"TOP1 HITS", "top1_hits", Kind::kCount, nullptr, nullptr, nullptr, kData, nullptr, &CompareRow::top1_hits},
    {"TIES", "tied_top1", Kind::kCount, nullptr, nullptr, nullptr, kData, nullptr, &CompareRow::tied_top1},
    {"dTOP1 CI LOW(pts)", "delta_top1_ci_low_pts", Kind::kNumber, "%+.4f", nullptr, &CompareRow::delta_ci_low_pts,
     kData},
    {"dTOP1 CI HIGH(pts)", "delta_top1_ci_high_pts", Kind::kNumber, "%+.4f", nullptr, &CompareRow::delta_ci_high_pts,
     kData},
    {"P", "delta_top1_p_value", Kind::kNumber, "%.6g", nullptr, &CompareRow::delta_p_value, kData},
    {"FP32 RIGHT, CONFIG WRONG", "fp32_right_config_wrong", Kind::kCount, nullptr, nullptr, nullptr, kData, nullptr,
     &CompareRow::fp32_right_config_wrong},
    {"FP32 WRONG, CONFIG RIGHT", "fp32_wrong_config_right", Kind::kCount, nullptr, nullptr, nullptr, kData, nullptr,
     &CompareRow::fp32_wrong_config_right},
    {"SIGNIFICANT", "delta_significant", Kind::kBool, nullptr, nullptr, nullptr, kData, nullptr, nullptr,
     &CompareRow::delta_significant},
    {"DELTA CI METHOD", "delta_interval_method", Kind::kText, nullptr, &CompareRow::delta_interval_method, nullptr,
     kData},
    {"DELTA TEST", "delta_test_method", Kind::kText, nullptr, &CompareRow::delta_test_method, nullptr, kData},
    {"EVALUATION", "evaluation_mode", Kind::kText, nullptr, &CompareRow::evaluation_mode, nullptr, kData},
    {"VAL SAMPLES", "validation_samples", Kind::kCount, nullptr, nullptr, nullptr, kData, nullptr,
     &CompareRow::validation_samples},
    {"VAL TOP1%", "validation_top1_pct", Kind::kNumber, "%.4f", nullptr, &CompareRow::validation_top1_pct, kData},
    {"VAL dTOP1(pts)", "validation_delta_top1_pts", Kind::kNumber, "%+.4f", nullptr, &CompareRow::validation_delta_pts,
     kData},
    {"VAL dTOP1 CI LOW(pts)", "validation_delta_top1_ci_low_pts", Kind::kNumber, "%+.4f", nullptr,
     &CompareRow::validation_delta_ci_low_pts, kData},
    {"VAL dTOP1 CI HIGH(pts)", "validation_delta_top1_ci_high_pts", Kind::kNumber, "%+.4f", nullptr,
     &CompareRow::validation_delta_ci_high_pts, kData},
    {"RUNNER", "runner", Kind::kText, nullptr, &CompareRow::runner, nullptr, kData},
    {"RUNTIME", "runtime", Kind::kText, nullptr, &CompareRow::runtime, nullptr, kData},
    {"RUNTIME VERSION", "runtime_version", Kind::kText, nullptr, &CompareRow::runtime_version, nullptr, kData},
    {"PROVIDER", "provider", Kind::kText, nullptr, &CompareRow::provider, nullptr, kData},
    {"DIFFERS FROM ENGINE", "differs_from_engine", Kind::kCount, nullptr, nullptr, nullptr, kData, nullptr,
     &CompareRow::differs_from_engine},
    {"ERROR", "error", Kind::kText, nullptr, &CompareRow::error, nullptr, kData},
};

std::string Number(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// "value [low, high]", or the value alone when the interval is unknown.
std::string WithInterval(const char* format, double value, const std::optional<double>& low,
                         const std::optional<double>& high) {
  std::string out = Number(format, value);
  if (low && high) absl::StrAppend(&out, " [", Number(format, *low), ", ", Number(format, *high), "]");
  return out;
}

// A cell as text; `empty` stands for an unset figure.
std::string Cell(const Column& c, const CompareRow& r, const std::string& empty) {
  switch (c.kind) {
    case Kind::kText: return r.*c.text;
    case Kind::kInt: return r.*c.integer > 0 ? absl::StrCat(r.*c.integer) : empty;
    case Kind::kFlag: return r.pareto ? "*" : "";
    case Kind::kNumber: return r.*c.number ? Number(c.format, *(r.*c.number)) : empty;
    case Kind::kMedianCi:
      if (!(r.*c.number)) return empty;
      return WithInterval(c.format, *(r.*c.number), r.median_ci_low_ms, r.median_ci_high_ms);
    case Kind::kDeltaCi: {
      if (!(r.*c.number)) return empty;
      std::string out = WithInterval(c.format, *(r.*c.number), r.delta_ci_low_pts, r.delta_ci_high_pts);
      // Two spaces for a significant delta keep the brackets of right-aligned cells in line.
      if (r.delta_significant) absl::StrAppend(&out, *r.delta_significant ? "  " : absl::StrCat(" ", kNotSignificant));
      return out;
    }
    case Kind::kCount: return r.*c.count ? absl::StrCat(*(r.*c.count)) : empty;
    case Kind::kBool: return r.*c.flag ? (*(r.*c.flag) ? "true" : "false") : empty;
  }
  return empty;
}

std::string CsvQuote(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

}  // namespace

std::vector<CompareRow> BuildCompareRows(std::span<const v1::JobResults> results, int64_t batch_filter) {
  std::vector<CompareRow> rows;
  for (const v1::JobResults& job : results) {
    // The baseline: the configuration the server flags; a server from before the flag
    // made its first configuration the baseline.
    const v1::ConfigResult* fp32 = nullptr;
    bool flagged = false;
    for (const v1::ConfigResult& c : job.configs()) flagged = flagged || c.is_baseline();
    for (const v1::ConfigResult& c : job.configs())
      if (flagged ? c.is_baseline() : &c == &job.configs(0)) {
        if (c.error().empty()) fp32 = &c;
        break;
      }
    for (const v1::ConfigResult& c : job.configs()) {
      CompareRow base;
      base.job = job.job();
      base.config = c.config();
      base.device = c.device();
      base.device_id = c.device().substr(c.device().rfind('/') + 1);
      base.error = c.error();
      if (c.has_device_run()) {
        base.runner = c.device_run().runner();
        base.runtime = c.device_run().runtime();
        base.runtime_version = c.device_run().runtime_version();
        base.provider = c.device_run().provider();
        if (c.error().empty()) base.differs_from_engine = c.device_run().differs_from_engine();
      }
      if (!c.error().empty()) {
        rows.push_back(base);
        continue;
      }
      // Each device's FP32 run is its own baseline (the server flags them all).
      const bool is_fp32 = flagged ? c.is_baseline() : &c == fp32;
      base.top1_pct = c.top1() * 100;
      base.delta_top1_pts = is_fp32 ? 0.0 : c.top1_delta_vs_fp32() * 100;
      base.agreement_pct = is_fp32 ? 100.0 : c.agreement_with_fp32() * 100;
      if (!is_fp32) base.sqnr_db = c.output_sqnr_db();  // FP32 against itself has no noise
      if (c.samples() > 0) base.samples = c.samples();
      // A server from before strict top-k counts sends zeros and no paired delta: unset.
      if (c.top1_hits() > 0 || c.tied_top1() > 0 || c.has_vs_fp32()) {
        base.top1_hits = c.top1_hits();
        base.tied_top1 = c.tied_top1();
      }
      if (c.has_vs_fp32() && !is_fp32) {
        const v1::PairedDelta& d = c.vs_fp32();
        base.delta_top1_pts = d.delta() * 100;
        base.delta_ci_low_pts = d.ci_low() * 100;
        base.delta_ci_high_pts = d.ci_high() * 100;
        base.delta_p_value = d.p_value();
        base.fp32_right_config_wrong = d.fp32_right_config_wrong();
        base.fp32_wrong_config_right = d.fp32_wrong_config_right();
        base.delta_significant = d.significant();
        base.delta_interval_method = d.interval_method();
        base.delta_test_method = d.test_method();
      }
      if (c.has_validation()) {
        base.validation_samples = c.validation().samples();
        base.validation_top1_pct = c.validation().top1() * 100;
        if (c.validation().has_vs_fp32() && !is_fp32) {
          base.validation_delta_pts = c.validation().vs_fp32().delta() * 100;
          base.validation_delta_ci_low_pts = c.validation().vs_fp32().ci_low() * 100;
          base.validation_delta_ci_high_pts = c.validation().vs_fp32().ci_high() * 100;
        } else if (is_fp32) {
          base.validation_delta_pts = 0.0;
        }
      }
      base.evaluation_mode = job.evaluation().mode();
      if (c.model_size_bytes() > 0) {
        base.size_kib = c.model_size_bytes() / 1024.0;
        if (fp32 != nullptr && fp32->model_size_bytes() > 0)
          base.size_ratio = static_cast<double>(c.model_size_bytes()) / fp32->model_size_bytes();
      }
      base.energy_source = EnergySourceName(c.energy().source());
      auto with_energy = [&](CompareRow r) {
        if (!r.energy_source.empty() && (c.energy().batch_size() == 0 || c.energy().batch_size() == r.batch_size))
          r.energy_j_per_sample = c.energy().joules_per_sample();
        return r;
      };
      std::vector<v1::BatchLatency> latency(c.latency().begin(), c.latency().end());
      std::sort(latency.begin(), latency.end(),
                [](const auto& a, const auto& b) { return a.batch_size() < b.batch_size(); });
      if (latency.empty()) rows.push_back(with_energy(base));
      for (const v1::BatchLatency& l : latency) {
        if (batch_filter > 0 && l.batch_size() != batch_filter) continue;
        CompareRow r = base;
        r.batch_size = l.batch_size();
        r.p50_ms = l.p50_ms();
        r.p99_ms = l.p99_ms();
        // A server or row from before the latency detail sends sessions 0 and zeros: unset.
        if (l.sessions() > 0) {
          r.p90_ms = l.p90_ms();
          r.p999_ms = l.p999_ms();
          r.min_ms = l.min_ms();
          r.max_ms = l.max_ms();
          r.mean_ms = l.mean_ms();
          r.median_ci_low_ms = l.median_ci_low_ms();
          r.median_ci_high_ms = l.median_ci_high_ms();
          r.latency_sessions = l.sessions();
          r.latency_method = l.median_ci_method();
        }
        r.samples_ms.assign(l.samples_ms().begin(), l.samples_ms().end());
        if (l.ratio_to_fp32() > 0) r.latency_ratio = l.ratio_to_fp32();
        r.throughput_per_s = l.throughput_per_s();
        rows.push_back(with_energy(r));
      }
    }
  }
  MarkPareto(rows);
  return rows;
}

std::string FormatCompareTable(const std::vector<CompareRow>& rows) {
  std::set<std::string> jobs, devices;
  for (const CompareRow& r : rows) {
    jobs.insert(r.job);
    devices.insert(r.device);
  }
  std::vector<const Column*> cols;
  for (const Column& c : kColumns)
    if (((c.where & kTable) && (std::string(c.key) != "job" || jobs.size() > 1)) ||
        ((c.where & kDevices) && devices.size() > 1))
      cols.push_back(&c);
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> width;
  for (const Column* c : cols) width.push_back(std::string(c->title).size());
  for (const CompareRow& r : rows) {
    auto& line = cells.emplace_back();
    for (size_t i = 0; i < cols.size(); ++i) {
      line.push_back(Cell(*cols[i], r, "-"));
      // An error row prints its message after the name columns; it does not widen them.
      if (r.error.empty()) width[i] = std::max(width[i], line.back().size());
    }
  }
  std::string out;
  auto append_line = [&](const std::vector<std::string>& line, const CompareRow* r) {
    std::string text;
    for (size_t i = 0; i < cols.size(); ++i) {
      const bool left = cols[i]->kind == Kind::kText || cols[i]->kind == Kind::kFlag;
      if (i > 0) text += "  ";
      if (r != nullptr && !r->error.empty() && cols[i]->kind != Kind::kText) {
        absl::StrAppend(&text, "error: ", r->error);
        break;
      }
      const std::string pad(width[i] - std::min(width[i], line[i].size()), ' ');
      text += left ? line[i] + pad : pad + line[i];
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    absl::StrAppend(&out, text, "\n");
  };
  std::vector<std::string> header;
  for (const Column* c : cols) header.push_back(c->title);
  append_line(header, nullptr);
  for (size_t i = 0; i < rows.size(); ++i) append_line(cells[i], &rows[i]);
  return out;
}

std::string FormatCompareCsv(const std::vector<CompareRow>& rows) {
  std::vector<const Column*> cols;
  for (const Column& c : kColumns)
    if (c.where & kData) cols.push_back(&c);
  std::string out;
  for (const Column* c : cols) absl::StrAppend(&out, c == cols.front() ? "" : ",", c->key);
  out += "\n";
  for (const CompareRow& r : rows) {
    for (const Column* c : cols) absl::StrAppend(&out, c == cols.front() ? "" : ",", CsvQuote(Cell(*c, r, "")));
    out += "\n";
  }
  return out;
}

std::string FormatCompareJson(const std::vector<CompareRow>& rows) {
  nlohmann::json array = nlohmann::json::array();
  for (const CompareRow& r : rows) {
    nlohmann::json o = nlohmann::json::object();
    // JSON has no inf/NaN: those are null too.
    auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    for (const Column& c : kColumns) {
      if (!(c.where & kData)) continue;
      switch (c.kind) {
        case Kind::kText: o[c.key] = r.*c.text; break;
        case Kind::kInt: o[c.key] = r.*c.integer > 0 ? nlohmann::json(r.*c.integer) : nlohmann::json(nullptr); break;
        case Kind::kFlag: o[c.key] = r.pareto; break;
        case Kind::kNumber: {
          const auto& v = r.*c.number;
          o[c.key] = v ? number(*v) : nlohmann::json(nullptr);
          break;
        }
        case Kind::kCount: {
          const auto& v = r.*c.count;
          o[c.key] = v ? nlohmann::json(*v) : nlohmann::json(nullptr);
          break;
        }
        case Kind::kBool: {
          const auto& v = r.*c.flag;
          o[c.key] = v ? nlohmann::json(*v) : nlohmann::json(nullptr);
          break;
        }
        case Kind::kMedianCi:
        case Kind::kDeltaCi: break;  // the table's composites; JSON has their parts
      }
    }
    nlohmann::json samples = nlohmann::json::array();
    for (double v : r.samples_ms) samples.push_back(number(v));
    o["samples_ms"] = std::move(samples);
    array.push_back(std::move(o));
  }
  return array.dump(2) + "\n";
}

}  // namespace qbench::client
