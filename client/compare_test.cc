// The comparison: rows, deltas, ratios, energy placement and Pareto marks from a
// hand-built JobResults, and the three output formats.
#include "client/compare.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_split.h"

namespace qbench::client {
namespace {

namespace v1 = qbench::v1;
using ::testing::HasSubstr;

struct Lat {
  int64_t batch;
  double p50, p99;
};

v1::ConfigResult Config(const std::string& name, double top1, double delta, int64_t size, std::vector<Lat> lat,
                        double fp32_p50_b1 = 1.0, double fp32_p50_b64 = 20.0) {
  v1::ConfigResult c;
  c.set_config(name);
  c.set_device("workers/lab/devices/cpu0");
  c.set_top1(top1);
  c.set_top1_delta_vs_fp32(delta);
  c.set_agreement_with_fp32(name == "fp32" ? 1.0 : 0.97);
  c.set_output_sqnr_db(name == "fp32" ? 0 : 30.5);
  c.set_model_size_bytes(size);
  for (const Lat& l : lat) {
    auto* b = c.add_latency();
    b->set_batch_size(l.batch);
    b->set_p50_ms(l.p50);
    b->set_p99_ms(l.p99);
    b->set_throughput_per_s(l.batch * 1000.0 / l.p50);
    b->set_ratio_to_fp32(l.p50 / (l.batch == 1 ? fp32_p50_b1 : fp32_p50_b64));
  }
  return c;
}

// fp32 (the baseline), w8a8 (smaller, faster, a bit less accurate), w8a8-slow (the same
// size and accuracy as w8a8 but slower: dominated), w4a8 (smallest, least accurate),
// bf16 (fp32's accuracy, half its size, slower at batch 1), and a failed config.
// Latency is listed out of order to check the sorting.
v1::JobResults Results() {
  v1::JobResults r;
  r.set_job("jobs/7");
  r.set_state(v1::SUCCEEDED);
  *r.add_configs() = Config("fp32", 0.90, 0, 400 * 1024, {{64, 20, 22}, {1, 1.0, 1.3}});
  *r.add_configs() = Config("w8a8", 0.895, -0.005, 100 * 1024, {{1, 0.5, 0.6}, {64, 8, 9}});
  *r.add_configs() = Config("w8a8-slow", 0.895, -0.005, 100 * 1024, {{1, 0.7, 0.8}, {64, 8, 9}});
  *r.add_configs() = Config("w4a8", 0.85, -0.05, 60 * 1024, {{1, 0.6, 0.7}, {64, 9, 10}});
  *r.add_configs() = Config("bf16", 0.90, 0, 200 * 1024, {{1, 1.2, 1.5}, {64, 15, 16}});
  auto* energy = r.mutable_configs(1)->mutable_energy();
  energy->set_source(v1::RAPL);
  energy->set_joules_per_sample(0.0123);
  energy->set_batch_size(64);
  v1::ConfigResult* bad = r.add_configs();
  bad->set_config("w2a2");
  bad->set_error("unsupported: 2-bit, \"weights\"");
  return r;
}

const CompareRow& Row(const std::vector<CompareRow>& rows, const std::string& config, int64_t batch) {
  for (const CompareRow& r : rows)
    if (r.config == config && r.batch_size == batch) return r;
  static const CompareRow kNone;
  ADD_FAILURE() << "no row " << config << " b" << batch;
  return kNone;
}

TEST(CompareTest, RowsDeltasAndRatios) {
  const v1::JobResults results = Results();
  const auto rows = BuildCompareRows(std::span(&results, 1));
  ASSERT_EQ(rows.size(), 11u);  // 5 configs x 2 batch sizes + the failed one
  EXPECT_EQ(rows[0].config, "fp32");
  EXPECT_EQ(rows[0].batch_size, 1);  // sorted
  EXPECT_EQ(rows[1].batch_size, 64);
  const CompareRow& w8 = Row(rows, "w8a8", 1);
  EXPECT_DOUBLE_EQ(*w8.top1_pct, 89.5);
  EXPECT_DOUBLE_EQ(*w8.delta_top1_pts, -0.5);
  EXPECT_DOUBLE_EQ(*w8.agreement_pct, 97);
  EXPECT_DOUBLE_EQ(*w8.sqnr_db, 30.5);
  EXPECT_DOUBLE_EQ(*w8.size_kib, 100);
  EXPECT_DOUBLE_EQ(*w8.size_ratio, 0.25);
  EXPECT_DOUBLE_EQ(*w8.p50_ms, 0.5);
  EXPECT_DOUBLE_EQ(*w8.latency_ratio, 0.5);
  EXPECT_DOUBLE_EQ(*w8.throughput_per_s, 2000);
  const CompareRow& fp32 = Row(rows, "fp32", 1);
  EXPECT_FALSE(fp32.sqnr_db.has_value());  // no noise against itself
  EXPECT_DOUBLE_EQ(*fp32.agreement_pct, 100);
  EXPECT_DOUBLE_EQ(*fp32.size_ratio, 1);
  // Energy was measured at batch 64: shown there only.
  EXPECT_FALSE(w8.energy_j_per_sample.has_value());
  EXPECT_DOUBLE_EQ(*Row(rows, "w8a8", 64).energy_j_per_sample, 0.0123);
  EXPECT_EQ(Row(rows, "w8a8", 64).energy_source, "RAPL");
  EXPECT_EQ(fp32.energy_source, "");
  const CompareRow& bad = Row(rows, "w2a2", 0);
  EXPECT_THAT(bad.error, HasSubstr("unsupported"));
  EXPECT_FALSE(bad.top1_pct.has_value());
  EXPECT_FALSE(bad.pareto);
}

TEST(CompareTest, ParetoFrontPerBatchSize) {
  const v1::JobResults results = Results();
  const auto rows = BuildCompareRows(std::span(&results, 1));
  // Batch 1: fp32 (most accurate at 1.0 ms) is dominated by nothing; bf16 is as accurate,
  // smaller but slower: also on the front; w8a8 beats w8a8-slow on latency alone.
  EXPECT_TRUE(Row(rows, "fp32", 1).pareto);
  EXPECT_TRUE(Row(rows, "bf16", 1).pareto);
  EXPECT_TRUE(Row(rows, "w8a8", 1).pareto);
  EXPECT_FALSE(Row(rows, "w8a8-slow", 1).pareto);
  EXPECT_TRUE(Row(rows, "w4a8", 1).pareto);  // the smallest
  // Batch 64: w8a8-slow ties w8a8 everywhere: neither dominates the other.
  EXPECT_TRUE(Row(rows, "w8a8-slow", 64).pareto);
  EXPECT_TRUE(Row(rows, "w8a8", 64).pareto);
  // bf16 at 64 (15 ms) is faster than fp32 (20 ms), as accurate and smaller: fp32 drops.
  EXPECT_FALSE(Row(rows, "fp32", 64).pareto);
}

TEST(CompareTest, BatchFilterAndSeveralJobs) {
  v1::JobResults a = Results(), b = Results();
  b.set_job("jobs/8");
  b.mutable_configs(1)->set_top1(0.99);  // only job 8's w8a8 dominates there
  const std::vector<v1::JobResults> both = {a, b};
  const auto rows = BuildCompareRows(both, 64);
  EXPECT_EQ(rows.size(), 12u);  // 5 rows at batch 64 + the failed row, per job
  for (const CompareRow& r : rows) EXPECT_TRUE(r.batch_size == 64 || !r.error.empty());
  // Pareto is within a job: job 7's w8a8 is not compared with job 8's.
  for (const CompareRow& r : rows) {
    if (r.config == "w8a8") {
      EXPECT_TRUE(r.pareto) << r.job;
    }
  }
  const std::string table = FormatCompareTable(rows);
  EXPECT_THAT(table, HasSubstr("JOB"));
  EXPECT_THAT(table, HasSubstr("jobs/8"));
}

TEST(CompareTest, TableIsAlignedWithMarksAndErrors) {
  const v1::JobResults results = Results();
  const std::string table = FormatCompareTable(BuildCompareRows(std::span(&results, 1)));
  std::vector<std::string> lines = absl::StrSplit(table, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 12u);
  EXPECT_THAT(lines[0], HasSubstr("CONFIG"));
  EXPECT_THAT(lines[0], HasSubstr("dTOP1(pts)"));
  EXPECT_THAT(lines[0], ::testing::Not(HasSubstr("JOB")));  // one job: no job column
  // Every figure row is as wide as the header's columns reach (right-aligned numbers).
  const size_t pareto_col = lines[0].find("PARETO");
  EXPECT_EQ(lines[3].substr(pareto_col, 1), "*");  // w8a8 b1
  EXPECT_THAT(lines[3], HasSubstr("-0.50"));
  EXPECT_THAT(lines[3], HasSubstr("0.250"));
  EXPECT_THAT(lines[4], HasSubstr("RAPL"));
  EXPECT_THAT(lines[11], HasSubstr("w2a2"));
  EXPECT_THAT(lines[11], HasSubstr("error: unsupported"));
  EXPECT_THAT(lines[1], HasSubstr(" - "));  // fp32 has no SQNR
}

TEST(CompareTest, CsvAndJsonParse) {
  const v1::JobResults results = Results();
  const auto rows = BuildCompareRows(std::span(&results, 1));
  const std::string csv = FormatCompareCsv(rows);
  std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), rows.size() + 1);
  // A minimal RFC 4180 reader: every line has the header's field count.
  auto fields = [](const std::string& line) {
    std::vector<std::string> out(1);
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') out.back() += line[++i];
      else if (c == '"') quoted = !quoted;
      else if (c == ',' && !quoted) out.emplace_back();
      else out.back() += c;
    }
    return out;
  };
  const auto header = fields(lines[0]);
  for (const std::string& l : lines) EXPECT_EQ(fields(l).size(), header.size()) << l;
  const auto last = fields(lines.back());
  EXPECT_EQ(last.back(), "unsupported: 2-bit, \"weights\"");  // quoted comma and quotes survive
  EXPECT_EQ(header[1], "config");

  const auto json = nlohmann::json::parse(FormatCompareJson(rows));
  ASSERT_EQ(json.size(), rows.size());
  EXPECT_EQ(json[2]["config"], "w8a8");
  EXPECT_EQ(json[2]["batch_size"], 1);
  EXPECT_DOUBLE_EQ(json[2]["size_ratio"].get<double>(), 0.25);
  EXPECT_TRUE(json[2]["pareto"].get<bool>());
  EXPECT_TRUE(json[0]["sqnr_db"].is_null());
  EXPECT_TRUE(json[10]["batch_size"].is_null());
  EXPECT_EQ(json[10]["error"], "unsupported: 2-bit, \"weights\"");
}

// The latency detail: w8a8 at batch 1 carries it, every other row comes as from a server
// before it (sessions 0) and must read as unset, not as zeros.
v1::JobResults ResultsWithDetail() {
  v1::JobResults r = Results();
  v1::BatchLatency* l = r.mutable_configs(1)->mutable_latency(0);
  EXPECT_EQ(l->batch_size(), 1);
  l->set_p90_ms(0.55);
  l->set_p999_ms(0.7);
  l->set_min_ms(0.41);
  l->set_max_ms(0.75);
  l->set_mean_ms(0.52);
  l->set_median_ci_low_ms(0.48);
  l->set_median_ci_high_ms(0.5126);
  l->set_sessions(5);
  l->set_median_ci_method("sessions, 93.75%");
  for (double v : {0.5, 0.41, 0.75, 0.49}) l->add_samples_ms(v);
  return r;
}

TEST(CompareTest, LatencyDetailInRows) {
  const v1::JobResults results = ResultsWithDetail();
  const auto rows = BuildCompareRows(std::span(&results, 1));
  const CompareRow& w8 = Row(rows, "w8a8", 1);
  EXPECT_DOUBLE_EQ(*w8.p90_ms, 0.55);
  EXPECT_DOUBLE_EQ(*w8.p999_ms, 0.7);
  EXPECT_DOUBLE_EQ(*w8.min_ms, 0.41);
  EXPECT_DOUBLE_EQ(*w8.max_ms, 0.75);
  EXPECT_DOUBLE_EQ(*w8.mean_ms, 0.52);
  EXPECT_DOUBLE_EQ(*w8.median_ci_low_ms, 0.48);
  EXPECT_DOUBLE_EQ(*w8.median_ci_high_ms, 0.5126);
  EXPECT_EQ(w8.latency_sessions, 5);
  EXPECT_EQ(w8.latency_method, "sessions, 93.75%");
  EXPECT_EQ(w8.samples_ms, (std::vector<double>{0.5, 0.41, 0.75, 0.49}));
  const CompareRow& old = Row(rows, "w8a8", 64);
  EXPECT_FALSE(old.p90_ms.has_value());
  EXPECT_FALSE(old.median_ci_low_ms.has_value());
  EXPECT_EQ(old.latency_sessions, 0);
  EXPECT_TRUE(old.samples_ms.empty());
}

TEST(CompareTest, TableShowsP50WithItsInterval) {
  const v1::JobResults results = ResultsWithDetail();
  const std::string table = FormatCompareTable(BuildCompareRows(std::span(&results, 1)));
  std::vector<std::string> lines = absl::StrSplit(table, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 12u);
  EXPECT_THAT(lines[0], HasSubstr("P50(ms) [CI]"));
  EXPECT_THAT(lines[0], HasSubstr("P99(ms)"));
  EXPECT_THAT(lines[3], HasSubstr("  0.500 [0.480, 0.513]  "));  // w8a8 b1
  EXPECT_THAT(lines[3], HasSubstr("0.600"));                     // its p99
  // Without an interval, p50 alone, right-aligned under the same header.
  EXPECT_THAT(lines[4], HasSubstr(" 8.000  "));
  EXPECT_THAT(lines[4], ::testing::Not(HasSubstr("[")));
  EXPECT_EQ(lines[3].find("0.513]") + 6, lines[4].find(" 8.000") + 6);
  // The detail columns stay out of the table.
  EXPECT_THAT(lines[0], ::testing::Not(HasSubstr("P90")));
}

TEST(CompareTest, CsvAndJsonCarryTheDetail) {
  const v1::JobResults results = ResultsWithDetail();
  const auto rows = BuildCompareRows(std::span(&results, 1));
  std::vector<std::string> lines = absl::StrSplit(FormatCompareCsv(rows), '\n', absl::SkipEmpty());
  const std::vector<std::string> header = absl::StrSplit(lines[0], ',');
  // The columns of earlier versions keep their positions; the error stays last.
  const std::vector<std::string> expected = {
      "job", "config", "device", "batch_size", "top1_pct", "delta_top1_pts", "agreement_pct", "sqnr_db",
      "size_kib", "size_ratio", "p50_ms", "p99_ms", "latency_ratio", "throughput_per_s", "energy_j_per_sample",
      "energy_source", "pareto", "p90_ms", "p999_ms", "min_ms", "max_ms", "mean_ms", "median_ci_low_ms",
      "median_ci_high_ms", "latency_sessions", "latency_method", "samples", "top1_hits", "tied_top1",
      "delta_top1_ci_low_pts", "delta_top1_ci_high_pts", "delta_top1_p_value", "fp32_right_config_wrong",
      "fp32_wrong_config_right", "delta_significant", "delta_interval_method", "delta_test_method", "evaluation_mode",
      "validation_samples", "validation_top1_pct", "validation_delta_top1_pts", "validation_delta_top1_ci_low_pts",
      "validation_delta_top1_ci_high_pts", "runner", "runtime", "runtime_version", "provider",
      "differs_from_engine", "error"};
  EXPECT_EQ(header, expected);
  const std::vector<std::string> w8 = absl::StrSplit(lines[3], ',');  // w8a8 b1 (the method has a comma: quoted)
  EXPECT_EQ(w8[1], "w8a8");
  EXPECT_EQ(w8[10], "0.500");
  EXPECT_EQ(w8[17], "0.550");
  EXPECT_EQ(w8[18], "0.700");
  EXPECT_EQ(w8[19], "0.410");
  EXPECT_EQ(w8[20], "0.750");
  EXPECT_EQ(w8[21], "0.520");
  EXPECT_EQ(w8[22], "0.480");
  EXPECT_EQ(w8[23], "0.513");
  EXPECT_EQ(w8[24], "5");
  EXPECT_EQ(w8[25], "\"sessions");
  EXPECT_EQ(w8[26], " 93.75%\"");
  EXPECT_THAT(lines[3], ::testing::Not(HasSubstr("0.49")));  // samples are not in CSV
  const std::vector<std::string> w8_64 = absl::StrSplit(lines[4], ',');
  EXPECT_EQ(w8_64[17], "");  // no detail: empty fields
  EXPECT_EQ(w8_64[24], "");

  const auto json = nlohmann::json::parse(FormatCompareJson(rows));
  const auto& j = json[2];
  ASSERT_EQ(j["config"], "w8a8");
  ASSERT_EQ(j["batch_size"], 1);
  EXPECT_DOUBLE_EQ(j["p90_ms"].get<double>(), 0.55);
  EXPECT_DOUBLE_EQ(j["p999_ms"].get<double>(), 0.7);
  EXPECT_DOUBLE_EQ(j["min_ms"].get<double>(), 0.41);
  EXPECT_DOUBLE_EQ(j["max_ms"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(j["mean_ms"].get<double>(), 0.52);
  EXPECT_DOUBLE_EQ(j["median_ci_low_ms"].get<double>(), 0.48);
  EXPECT_DOUBLE_EQ(j["median_ci_high_ms"].get<double>(), 0.5126);
  EXPECT_EQ(j["latency_sessions"], 5);
  EXPECT_EQ(j["latency_method"], "sessions, 93.75%");
  EXPECT_EQ(j["samples_ms"], nlohmann::json({0.5, 0.41, 0.75, 0.49}));
  EXPECT_FALSE(j.contains("p50_ci"));  // the table's composite cell
  EXPECT_TRUE(json[3]["p90_ms"].is_null());
  EXPECT_TRUE(json[3]["latency_sessions"].is_null());
  EXPECT_EQ(json[3]["samples_ms"], nlohmann::json::array());
}

// The paired delta (issue 12): w8a8's interval holds 0 (not significant), w4a8's does
// not; the baseline is the flagged configuration, here neither named "fp32" nor first.
v1::JobResults ResultsWithPairedDeltas() {
  v1::JobResults r;
  r.set_job("jobs/9");
  r.mutable_evaluation()->set_mode("holdout");
  *r.add_configs() = Config("w8a8", 0.895, -0.005, 100 * 1024, {{1, 0.5, 0.6}});
  *r.add_configs() = Config("float-reference", 0.90, 0, 400 * 1024, {{1, 1.0, 1.3}});
  *r.add_configs() = Config("w4a8", 0.85, -0.05, 60 * 1024, {{1, 0.6, 0.7}});
  *r.add_configs() = Config("fp32", 0.70, -0.2, 100, {{1, 9.0, 9.5}});  // a name, not the baseline
  v1::ConfigResult& base = *r.mutable_configs(1);
  base.set_is_baseline(true);
  base.set_samples(1000);
  base.set_top1_hits(900);
  base.set_tied_top1(0);
  auto paired = [](v1::ConfigResult& c, int64_t hits, int64_t ties, double delta, double lo, double hi, double p,
                   int64_t b, int64_t cc, bool significant) {
    c.set_samples(1000);
    c.set_top1_hits(hits);
    c.set_tied_top1(ties);
    v1::PairedDelta* d = c.mutable_vs_fp32();
    d->set_delta(delta);
    d->set_ci_low(lo);
    d->set_ci_high(hi);
    d->set_p_value(p);
    d->set_fp32_right_config_wrong(b);
    d->set_fp32_wrong_config_right(cc);
    d->set_significant(significant);
    d->set_interval_method("Newcombe 95%");
    d->set_test_method("McNemar");
  };
  paired(*r.mutable_configs(0), 895, 3, -0.005, -0.012, 0.002, 0.2891, 9, 4, false);
  paired(*r.mutable_configs(2), 850, 17, -0.05, -0.07, -0.03, 1.5e-7, 60, 10, true);
  r.mutable_configs(2)->mutable_validation()->set_samples(200);
  r.mutable_configs(2)->mutable_validation()->set_top1(0.84);
  r.mutable_configs(2)->mutable_validation()->mutable_vs_fp32()->set_delta(-0.06);
  r.mutable_configs(2)->mutable_validation()->mutable_vs_fp32()->set_ci_low(-0.1);
  r.mutable_configs(2)->mutable_validation()->mutable_vs_fp32()->set_ci_high(-0.02);
  return r;
}

TEST(CompareTest, BaselineIsTheServersFlagNotTheName) {
  const v1::JobResults results = ResultsWithPairedDeltas();
  const auto rows = BuildCompareRows(std::span(&results, 1));
  const CompareRow& base = Row(rows, "float-reference", 1);
  EXPECT_DOUBLE_EQ(*base.delta_top1_pts, 0);
  EXPECT_DOUBLE_EQ(*base.agreement_pct, 100);
  EXPECT_FALSE(base.sqnr_db.has_value());
  EXPECT_FALSE(base.delta_significant.has_value());
  EXPECT_FALSE(base.delta_ci_low_pts.has_value());
  EXPECT_EQ(base.tied_top1, 0) << "0 ties is a figure, not unset";
  EXPECT_DOUBLE_EQ(*Row(rows, "w8a8", 1).size_ratio, 0.25);  // against the flagged baseline's size
  const CompareRow& named = Row(rows, "fp32", 1);
  EXPECT_DOUBLE_EQ(*named.delta_top1_pts, -20);
  EXPECT_TRUE(named.sqnr_db.has_value()) << "a configuration named fp32 is not the baseline here";
  EXPECT_DOUBLE_EQ(*named.size_ratio, 100.0 / (400 * 1024));
}

TEST(CompareTest, PairedDeltaWithIntervalTiesAndPInEveryFormat) {
  const v1::JobResults results = ResultsWithPairedDeltas();
  const auto rows = BuildCompareRows(std::span(&results, 1));
  const CompareRow& w8 = Row(rows, "w8a8", 1);
  EXPECT_DOUBLE_EQ(*w8.delta_ci_low_pts, -1.2);
  EXPECT_DOUBLE_EQ(*w8.delta_ci_high_pts, 0.2);
  EXPECT_DOUBLE_EQ(*w8.delta_p_value, 0.2891);
  EXPECT_EQ(w8.fp32_right_config_wrong, 9);
  EXPECT_EQ(w8.fp32_wrong_config_right, 4);
  EXPECT_EQ(w8.delta_significant, false);
  EXPECT_EQ(w8.tied_top1, 3);
  EXPECT_EQ(w8.top1_hits, 895);
  EXPECT_EQ(w8.samples, 1000);
  EXPECT_EQ(w8.evaluation_mode, "holdout");
  const CompareRow& w4 = Row(rows, "w4a8", 1);
  EXPECT_EQ(w4.delta_significant, true);
  EXPECT_DOUBLE_EQ(*w4.validation_top1_pct, 84);
  EXPECT_DOUBLE_EQ(*w4.validation_delta_pts, -6);
  EXPECT_FALSE(w8.validation_samples.has_value());

  const std::string table = FormatCompareTable(rows);
  std::vector<std::string> lines = absl::StrSplit(table, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(lines[0], HasSubstr("TIES"));
  EXPECT_THAT(lines[0], HasSubstr("dTOP1(pts) [95% CI]"));
  EXPECT_THAT(lines[0], HasSubstr(" P "));
  EXPECT_THAT(lines[1], HasSubstr("-0.50 [-1.20, +0.20] ~"));  // w8a8: indistinguishable from 0
  EXPECT_THAT(lines[1], HasSubstr("0.289"));
  EXPECT_THAT(lines[3], HasSubstr("-5.00 [-7.00, -3.00]  "));  // w4a8: a real loss, no marker
  EXPECT_THAT(lines[3], ::testing::Not(HasSubstr("~")));
  EXPECT_THAT(lines[3], HasSubstr("1.5e-07"));
  // The brackets line up, marker or not.
  EXPECT_EQ(lines[1].find("+0.20]"), lines[3].find("-3.00]"));

  std::vector<std::string> csv = absl::StrSplit(FormatCompareCsv(rows), '\n', absl::SkipEmpty());
  const std::vector<std::string> header = absl::StrSplit(csv[0], ',');
  auto field = [&](size_t line, const std::string& key) {
    const std::vector<std::string> f = absl::StrSplit(csv[line], ',');
    for (size_t i = 0; i < header.size(); ++i)
      if (header[i] == key) return f.at(i);
    ADD_FAILURE() << "no column " << key;
    return std::string();
  };
  EXPECT_EQ(field(1, "delta_top1_ci_low_pts"), "-1.2000");
  EXPECT_EQ(field(1, "delta_top1_ci_high_pts"), "+0.2000");
  EXPECT_EQ(field(1, "delta_top1_p_value"), "0.2891");
  EXPECT_EQ(field(1, "fp32_right_config_wrong"), "9");
  EXPECT_EQ(field(1, "fp32_wrong_config_right"), "4");
  EXPECT_EQ(field(1, "delta_significant"), "false");
  EXPECT_EQ(field(1, "tied_top1"), "3");
  EXPECT_EQ(field(3, "delta_significant"), "true");
  EXPECT_EQ(field(3, "validation_delta_top1_ci_high_pts"), "-2.0000");
  EXPECT_EQ(field(2, "delta_significant"), "");  // the baseline
  EXPECT_EQ(field(2, "tied_top1"), "0");

  const auto json = nlohmann::json::parse(FormatCompareJson(rows));
  EXPECT_DOUBLE_EQ(json[0]["delta_top1_ci_low_pts"].get<double>(), -1.2);
  EXPECT_EQ(json[0]["fp32_right_config_wrong"], 9);
  EXPECT_EQ(json[0]["delta_significant"], false);
  EXPECT_EQ(json[0]["delta_interval_method"], "Newcombe 95%");
  EXPECT_EQ(json[2]["delta_significant"], true);
  EXPECT_DOUBLE_EQ(json[2]["delta_top1_p_value"].get<double>(), 1.5e-7);
  EXPECT_EQ(json[2]["validation_samples"], 200);
  EXPECT_TRUE(json[1]["delta_significant"].is_null());
  EXPECT_TRUE(json[1]["delta_top1_ci_low_pts"].is_null());
  EXPECT_EQ(json[1]["tied_top1"], 0);
  EXPECT_EQ(json[1]["evaluation_mode"], "holdout");
}

// Attached devices (docs/devices.md): each device's FP32 run is its own baseline, fronts
// are per device, and the table names the device and the samples that differ from the
// engine only when rows span several devices.
TEST(CompareTest, DevicesSideBySideEachAgainstItsOwnFp32) {
  v1::JobResults results;
  results.set_job("jobs/7");
  auto add = [&](const std::string& config, const std::string& device, bool baseline, double top1, double p50) {
    v1::ConfigResult* c = results.add_configs();
    c->set_config(config);
    c->set_device("workers/w1/devices/" + device);
    c->set_is_baseline(baseline);
    c->set_top1(top1);
    c->set_agreement_with_fp32(baseline ? 1.0 : 0.99);
    c->set_model_size_bytes(baseline ? 4096 : 1024);
    v1::BatchLatency* l = c->add_latency();
    l->set_batch_size(16);
    l->set_p50_ms(p50);
    if (device != "cpu0") {
      c->mutable_device_run()->set_runner("ort");
      c->mutable_device_run()->set_runtime("onnxruntime-node");
      c->mutable_device_run()->set_runtime_version("1.20.1");
      c->mutable_device_run()->set_provider("cpu");
      c->mutable_device_run()->set_differs_from_engine(baseline ? 0 : 3);
    }
    return c;
  };
  add("fp32", "cpu0", true, 0.92, 2.0);
  add("w8a8", "cpu0", false, 0.91, 1.0);
  add("fp32", "ort-cpu", true, 0.92, 1.5);
  // Beaten by w8a8 on cpu0 (more accurate, faster, same size) but on the front of its
  // own device: nothing on ONNX Runtime is smaller.
  add("w8a8", "ort-cpu", false, 0.9, 3.0);
  const std::vector<CompareRow> rows = BuildCompareRows(std::span(&results, 1));
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[2].device_id, "ort-cpu");
  EXPECT_EQ(rows[2].delta_top1_pts, 0.0) << "the device's FP32 is its own baseline";
  EXPECT_EQ(rows[2].agreement_pct, 100.0);
  EXPECT_FALSE(rows[2].sqnr_db.has_value());
  EXPECT_EQ(rows[3].runtime, "onnxruntime-node");
  EXPECT_EQ(rows[3].differs_from_engine, 3);
  EXPECT_FALSE(rows[1].differs_from_engine.has_value()) << "the engine's rows";
  EXPECT_TRUE(rows[1].pareto);
  EXPECT_TRUE(rows[3].pareto) << "fronts are per device";
  EXPECT_TRUE(rows[2].pareto);
  const std::string table = FormatCompareTable(rows);
  EXPECT_THAT(table, HasSubstr("DEVICE"));
  EXPECT_THAT(table, HasSubstr("DIFFERS"));
  EXPECT_THAT(table, HasSubstr("ort-cpu"));
  const auto json = nlohmann::json::parse(FormatCompareJson(rows));
  EXPECT_EQ(json[3]["differs_from_engine"], 3);
  EXPECT_EQ(json[3]["runtime_version"], "1.20.1");
  EXPECT_TRUE(json[1]["differs_from_engine"].is_null());

  // One device only: no DEVICE or DIFFERS column in the table.
  results.mutable_configs()->DeleteSubrange(2, 2);
  EXPECT_THAT(FormatCompareTable(BuildCompareRows(std::span(&results, 1))), ::testing::Not(HasSubstr("DIFFERS")));
}

}  // namespace
}  // namespace qbench::client
