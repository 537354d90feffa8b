// The Grafana dashboards (deploy/grafana/dashboards) against a real database: a throwaway
// PostgreSQL 15 cluster (tests/pg_test_util.h) initialised as the postgres container does
// it (deploy/postgres/grafana_login.sql first, then the migrations), holding the results
// of a real job that the worker daemon ran in-process (Fashion-MNIST CNN, fp32 and w8a8,
// with per-layer sensitivity). Every templating query and every panel query is expanded
// the way Grafana would (macros, template variables with the values the run produced)
// and run as the read-only role qbench_dashboard: each must succeed and return rows.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/status.h"
#include "engine/device/protocol.h"
#include "server/store/db.h"
#include "server/store/jobs.h"
#include "server/store/migrate.h"
#include "server/store/outcomes.h"
#include "server/store/teams.h"
#include "tests/pg_test_util.h"
#include "tests/subprocess.h"
#include "tests/test_paths.h"
#include "worker/daemon/daemon.h"

namespace qbench {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using ::qbench::testing::SourceDir;

constexpr char kDatasourceUid[] = "qbench-pg";  // deploy/grafana/provisioning/datasources/qbench.yml
constexpr char kGrafanaPassword[] = "dashboards-test-password";
// Small and quick, with the per-layer sensitivity table the layers dashboard reads.
constexpr char kSpec[] = R"({
  "name": "dashboards-test", "samples": 256, "batch_sizes": [1, 8], "threads": 1, "eval_batch_size": 64,
  "latency": {"warmup_iters": 1, "warmup_seconds": 0, "min_iters": 5, "min_seconds": 0.05},
  "calibration": {"samples": 128}, "configs": ["fp32", "w8a8"], "sensitivity": true,
  "sqnr_samples": 64, "profile_iters": 0, "devices": ["ort-cpu"]})";

// A small size search (the search dashboard's job): a few candidates on the front.
constexpr char kSearchSpec[] = R"({
  "name": "dashboards-search", "samples": 512, "batch_sizes": [8], "threads": 1, "eval_batch_size": 64,
  "latency": {"warmup_iters": 1, "warmup_seconds": 0, "min_iters": 5, "min_seconds": 0.05},
  "calibration": {"samples": 128}, "configs": ["fp32"], "sensitivity": false, "sqnr_samples": 64,
  "profile_iters": 0, "validation": {"samples": 256},
  "search": {"max_drop": 1.0, "objective": "size", "batch_size": 8, "choices": ["fp32", "w8a8", "w4a8"],
             "budget": {"evaluations": 12}, "latency": {"warmup_iters": 1, "min_iters": 3, "min_seconds": 0.02}}})";

std::string DashboardsDir() { return SourceDir() + "/deploy/grafana/dashboards"; }

std::vector<std::pair<std::string, Json>> LoadDashboards() {
  std::vector<std::pair<std::string, Json>> out;
  for (const auto& e : fs::directory_iterator(DashboardsDir()))
    if (e.path().extension() == ".json")
      out.emplace_back(e.path().filename().string(), Json::parse(std::ifstream(e.path())));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

// Seconds in a Grafana interval ("30s", "5m", "1h", "1d").
int64_t IntervalSeconds(std::string s) {
  s = std::regex_replace(s, std::regex(R"(^\s*'?|'?\s*$)"), "");
  std::smatch m;
  if (!std::regex_match(s, m, std::regex(R"((\d+)([smhd]))"))) return -1;
  static const std::map<std::string, int64_t> kUnit = {{"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
  return std::stoll(m[1]) * kUnit.at(m[2]);
}

// Expands the Grafana PostgreSQL macros and template variables in `sql` as Grafana does
// for single-valued variables: $var and ${var} raw, ${var:sqlstring} quoted. The time
// range is 1970-2100 and $__interval one hour. Anything not understood is an error.
absl::StatusOr<std::string> Expand(std::string sql, const std::map<std::string, std::string>& vars) {
  sql = absl::StrReplaceAll(sql, {{"$__interval_ms", "3600000"}, {"$__interval", "1h"}});
  constexpr char kFrom[] = "'1970-01-01T00:00:00Z'", kTo[] = "'2100-01-01T00:00:00Z'";
  const std::regex macro(R"(\$__(\w+)\(([^()]*)\))");
  std::smatch m;
  while (std::regex_search(sql, m, macro)) {
    std::vector<std::string> args;
    std::stringstream ss(m[2].str());
    for (std::string a; std::getline(ss, a, ',');)
      args.push_back(std::regex_replace(a, std::regex(R"(^\s+|\s+$)"), ""));
    const std::string name = m[1], col = args.empty() ? "" : args[0];
    std::string out;
    if (name == "timeFilter") out = absl::StrCat(col, " BETWEEN ", kFrom, " AND ", kTo);
    else if (name == "time") out = absl::StrCat(col, " AS \"time\"");
    else if (name == "timeEpoch") out = absl::StrCat("extract(epoch from ", col, ") AS \"time\"");
    else if (name == "timeFrom") out = kFrom;
    else if (name == "timeTo") out = kTo;
    else if ((name == "timeGroup" || name == "timeGroupAlias") && args.size() >= 2 && IntervalSeconds(args[1]) > 0) {
      const int64_t n = IntervalSeconds(args[1]);
      out = absl::StrCat("floor(extract(epoch from ", col, ")/", n, ")*", n);
      if (name == "timeGroupAlias") out += " AS \"time\"";
    } else {
      return absl::InvalidArgumentError(absl::StrCat("macro not understood by the test: ", m[0].str()));
    }
    sql = m.prefix().str() + out + m.suffix().str();
  }
  const std::regex variable(R"(\$\{(\w+)(?::(\w+))?\}|\$(\w+))");
  std::string result;
  auto begin = sql.cbegin();
  for (std::sregex_iterator it(sql.cbegin(), sql.cend(), variable), end; it != end; ++it) {
    const std::string name = (*it)[1].matched ? (*it)[1].str() : (*it)[3].str();
    const std::string format = (*it)[2].str();
    auto v = vars.find(name);
    if (v == vars.end()) return absl::InvalidArgumentError(absl::StrCat("unknown variable $", name));
    result.append(begin, (*it)[0].first);
    if (format == "sqlstring") result += "'" + absl::StrReplaceAll(v->second, {{"'", "''"}}) + "'";
    else if (format.empty() || format == "raw") result += v->second;
    else return absl::InvalidArgumentError(absl::StrCat("variable format not understood: ", (*it)[0].str()));
    begin = (*it)[0].second;
  }
  result.append(begin, sql.cend());
  return result;
}

class DashboardsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto pg = qbench::testing::PgTestCluster::Start();
    // Never skip: a missing PostgreSQL fails every test in SetUp with the reason.
    if (!pg.ok()) {
      error_ = new std::string(pg.status().ToString());
      return;
    }
    cluster_ = pg->release();
    if (absl::Status s = Init(); !s.ok()) error_ = new std::string(s.ToString());
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
    delete error_;
    error_ = nullptr;
  }

  // The postgres container's order: the grafana login role at initdb, then the migrations.
  static absl::Status Init() {
    QB_RETURN_IF_ERROR(cluster_->CreateDatabase("lab"));
    const char* env_bin = std::getenv("QB_PG_BIN");
    const std::string psql = absl::StrCat(env_bin && *env_bin ? env_bin : "/usr/lib/postgresql/15/bin", "/psql");
    std::string out;
    const std::string script = SourceDir() + "/deploy/postgres/grafana_login.sql";
    const int rc = qbench::testing::RunCommand({psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v",
                                                absl::StrCat("grafana_password=", kGrafanaPassword), "-f", script,
                                                cluster_->Uri("lab")},
                                               &out);
    if (rc != 0) return absl::InternalError(absl::StrCat("psql -f deploy/postgres/grafana_login.sql exited ", rc));
    QB_ASSIGN_OR_RETURN(auto db, store::Db::Connect(cluster_->Uri("lab")));
    QB_RETURN_IF_ERROR(store::Migrate(*db, SourceDir() + "/migrations").status());
    return absl::OkStatus();
  }

  void SetUp() override { ASSERT_EQ(error_, nullptr) << "setup failed: " << *error_; }

  // Submits the jobs and runs them with the worker daemon in this process (once per
  // process): first a mixed-precision search on another model (for the search dashboard),
  // then the job every other dashboard reads (the newest, so it is what they offer first).
  static void RunJob() {
    if (job_id_ != 0) return;
    auto db = store::Db::Connect(cluster_->Uri("lab"));
    ASSERT_TRUE(db.ok()) << db.status();
    auto team = store::CreateTeam(**db, "vision");
    ASSERT_TRUE(team.ok()) << team.status();
    const std::string models = SourceDir() + "/models/fashion_mnist";
    auto path = [&](const char* file) {
      store::AssetRef a;
      a.path = models + file;
      return a;
    };
    store::NewJob search;
    search.team_id = *team;
    search.spec_json = kSearchSpec;
    search.assets.model = path("/dwsep.onnx");
    search.assets.eval_dataset = path("/dataset.json");
    search.assets.calibration_dataset = path("/train_dataset.json");
    search.configs = {{"fp32", "{}", true}, {"search:best", "{}", false}, {"search:fallback", "{}", false}};
    auto searched = store::CreateJob(**db, search);
    ASSERT_TRUE(searched.ok()) << searched.status();
    store::NewJob job;
    job.team_id = *team;
    job.spec_json = kSpec;
    job.assets.model = path("/cnn_bn.onnx");
    job.assets.eval_dataset = path("/dataset.json");
    job.assets.calibration_dataset = path("/train_dataset.json");
    job.configs = {{"fp32", "{}", true}, {"w8a8", "{}", false}};
    auto created = store::CreateJob(**db, job);
    ASSERT_TRUE(created.ok()) << created.status();
    worker::DaemonOptions o;
    o.db_uri = cluster_->Uri("lab");
    o.id = "dash-w1";
    o.cache_dir = cluster_->dir() + "/cache";
    o.shared_roots = {SourceDir() + "/models", "/usr/share/datasets"};
    o.poll = absl::Milliseconds(200);
    o.once = true;
    // ONNX Runtime beside the engine, for the devices panel (npm onnxruntime-node in
    // worker/runners, which tools/install-deps.sh installs).
    auto ort = device::ParseDeviceFlag("ort-cpu=ort");
    ASSERT_TRUE(ort.ok()) << ort.status();
    auto attached = device::AttachDevices({*ort}, device::DefaultRunnersDir());
    ASSERT_TRUE(attached.ok()) << attached.status();
    o.devices = *attached;
    std::atomic<bool> stop{false};
    ASSERT_TRUE(worker::RunDaemon(o, stop).ok());
    auto search_done = store::GetJob(**db, *team, searched->job.id);
    ASSERT_TRUE(search_done.ok()) << search_done.status();
    ASSERT_EQ(search_done->state, store::JobState::kSucceeded) << search_done->error.value_or("");
    ASSERT_TRUE(worker::RunDaemon(o, stop).ok());
    auto done = store::GetJob(**db, *team, created->job.id);
    ASSERT_TRUE(done.ok()) << done.status();
    ASSERT_EQ(done->state, store::JobState::kSucceeded) << done->error.value_or("");
    job_id_ = created->job.id;
  }

  // Runs a dashboard's template variable queries in order (later ones use earlier ones)
  // and gives each its first value, as Grafana does on load; counts them in *queries.
  static void ResolveVariables(const Json& d, int64_t job_id, std::map<std::string, std::string>* vars,
                               int* queries);

  // Runs `sql` as qbench_dashboard (SET ROLE in a transaction that is rolled back).
  static absl::StatusOr<pqxx::result> AsDashboardRole(const std::string& sql) {
    try {
      pqxx::connection c{cluster_->Uri("lab")};
      pqxx::work w{c};
      w.exec("SET LOCAL ROLE qbench_dashboard");
      pqxx::result r = w.exec(sql);
      w.abort();
      return r;
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(e.what());
    }
  }

  static qbench::testing::PgTestCluster* cluster_;
  static std::string* error_;
  static int64_t job_id_;
};
qbench::testing::PgTestCluster* DashboardsTest::cluster_ = nullptr;
std::string* DashboardsTest::error_ = nullptr;
int64_t DashboardsTest::job_id_ = 0;

TEST(DashboardFilesTest, EveryDashboardHasPanelsWithSqlOnTheProvisionedDatasource) {
  const auto dashboards = LoadDashboards();
  ASSERT_GE(dashboards.size(), 4u) << "in " << DashboardsDir();
  std::ifstream provisioning(SourceDir() + "/deploy/grafana/provisioning/datasources/qbench.yml");
  std::stringstream text;
  text << provisioning.rdbuf();
  EXPECT_THAT(text.str(), ::testing::HasSubstr(absl::StrCat("uid: ", kDatasourceUid)));
  std::set<std::string> uids;
  for (const auto& [file, d] : dashboards) {
    SCOPED_TRACE(file);
    EXPECT_TRUE(uids.insert(d.value("uid", "")).second) << "missing or repeated dashboard uid";
    ASSERT_TRUE(d.contains("panels") && d["panels"].is_array() && !d["panels"].empty()) << "no panels";
    std::set<int> ids;
    for (const Json& p : d["panels"]) {
      SCOPED_TRACE(p.value("title", "?"));
      if (p.value("type", "") == "row") continue;
      EXPECT_TRUE(ids.insert(p.value("id", 0)).second) << "missing or repeated panel id";
      EXPECT_EQ(p["datasource"].value("uid", ""), kDatasourceUid);
      ASSERT_TRUE(p.contains("targets") && !p["targets"].empty()) << "no queries";
      for (const Json& t : p["targets"]) {
        EXPECT_FALSE(t.value("rawSql", "").empty()) << "a query without rawSql";
        EXPECT_TRUE(t.value("rawQuery", false));
        EXPECT_EQ(t["datasource"].value("uid", ""), kDatasourceUid);
      }
    }
    for (const Json& v : d["templating"]["list"]) EXPECT_EQ(v["datasource"].value("uid", ""), kDatasourceUid);
  }
}

TEST(DashboardFilesTest, ExpandHandlesMacrosAndVariables) {
  auto sql = Expand("SELECT $__timeGroupAlias(t, $__interval), x FROM v WHERE $__timeFilter(t) AND a = ${m:sqlstring} "
                    "AND b = $job AND c = ${job}",
                    {{"m", "it's"}, {"job", "7"}});
  ASSERT_TRUE(sql.ok()) << sql.status();
  EXPECT_EQ(*sql, "SELECT floor(extract(epoch from t)/3600)*3600 AS \"time\", x FROM v WHERE t BETWEEN "
                  "'1970-01-01T00:00:00Z' AND '2100-01-01T00:00:00Z' AND a = 'it''s' AND b = 7 AND c = 7");
  EXPECT_FALSE(Expand("SELECT $nope", {}).ok());
  EXPECT_FALSE(Expand("SELECT $__unixEpochGroup(t, 1h)", {}).ok());
}

TEST_F(DashboardsTest, EveryVariableAndPanelQueryReturnsRowsAsTheDashboardRole) {
  ASSERT_NO_FATAL_FAILURE(RunJob());
  for (const auto& [file, d] : LoadDashboards()) {
    SCOPED_TRACE(file);
    std::map<std::string, std::string> vars;
    int queries = 0;
    ASSERT_NO_FATAL_FAILURE(ResolveVariables(d, job_id_, &vars, &queries));
    for (const Json& p : d["panels"]) {
      if (p.value("type", "") == "row") continue;
      for (const Json& t : p["targets"]) {
        SCOPED_TRACE(absl::StrCat("panel \"", p.value("title", ""), "\" query ", t.value("refId", "")));
        auto sql = Expand(t.value("rawSql", ""), vars);
        ASSERT_TRUE(sql.ok()) << sql.status();
        auto rows = AsDashboardRole(*sql);
        ASSERT_TRUE(rows.ok()) << rows.status() << "\n" << *sql;
        EXPECT_FALSE(rows->empty()) << "no rows:\n" << *sql;
        ++queries;
      }
    }
    std::printf("%s: %d queries return rows (variables: %s)\n", file.c_str(), queries,
                absl::StrJoin(vars, ", ", absl::PairFormatter("=")).c_str());
  }
}

void DashboardsTest::ResolveVariables(const Json& d, int64_t job_id, std::map<std::string, std::string>* vars,
                                      int* queries) {
  for (const Json& v : d["templating"]["list"]) {
    const std::string name = v.value("name", "");
    SCOPED_TRACE("variable $" + name);
    auto sql = Expand(v.value("query", ""), *vars);
    ASSERT_TRUE(sql.ok()) << sql.status();
    auto rows = AsDashboardRole(*sql);
    ASSERT_TRUE(rows.ok()) << rows.status() << "\n" << *sql;
    ASSERT_FALSE(rows->empty()) << "no values:\n" << *sql;
    int column = 0;
    for (int i = 0; i < static_cast<int>(rows->columns()); ++i)
      if (std::string(rows->column_name(i)) == "__value") column = i;
    (*vars)[name] = (*rows)[0][column].c_str();
    ++*queries;
    if (name == "job") {
      std::set<std::string> values;
      for (const auto& row : *rows) values.insert(row[column].c_str());
      EXPECT_TRUE(values.count(std::to_string(job_id))) << "the job that ran is not offered";
    }
  }
}

// The bit-width dashboard draws the latency distribution from latency_samples (0004): the
// panels exist, and for the job that ran they return every configuration's kept samples,
// in run order, as positive latencies, no more than the engine keeps (1000).
TEST_F(DashboardsTest, LatencyDistributionPanelsReadTheKeptSamples) {
  ASSERT_NO_FATAL_FAILURE(RunJob());
  for (const auto& [file, d] : LoadDashboards()) {
    if (file != "bitwidth.json") continue;
    std::map<std::string, std::string> vars;
    int queries = 0;
    ASSERT_NO_FATAL_FAILURE(ResolveVariables(d, job_id_, &vars, &queries));
    ASSERT_EQ(vars["job"], std::to_string(job_id_));
    std::set<std::string> types;
    for (const Json& p : d["panels"]) {
      const std::string sql_text = p["targets"][0].value("rawSql", "");
      if (sql_text.find("FROM latency_samples") == std::string::npos) continue;
      SCOPED_TRACE(p.value("title", ""));
      types.insert(p.value("type", ""));
      auto sql = Expand(sql_text, vars);
      ASSERT_TRUE(sql.ok()) << sql.status();
      auto rows = AsDashboardRole(*sql);
      ASSERT_TRUE(rows.ok()) << rows.status() << "\n" << *sql;
      int config_col = -1, ms_col = -1, ordinal_col = -1;
      for (int i = 0; i < static_cast<int>(rows->columns()); ++i) {
        const std::string name = rows->column_name(i);
        if (name == "configuration") config_col = i;
        if (name == "latency (ms)") ms_col = i;
        if (name == "query") ordinal_col = i;
      }
      ASSERT_GE(config_col, 0);
      ASSERT_GE(ms_col, 0);
      std::map<std::string, int> per_config;
      std::map<std::string, int> last_ordinal;
      for (const auto& row : *rows) {
        const std::string config = row[config_col].c_str();
        ++per_config[config];
        EXPECT_GT(row[ms_col].as<double>(), 0) << config;
        if (ordinal_col >= 0) {  // run order, 1-based and gapless
          const int ordinal = row[ordinal_col].as<int>();
          EXPECT_EQ(ordinal, last_ordinal[config] + 1) << config;
          last_ordinal[config] = ordinal;
        }
      }
      EXPECT_EQ(per_config.size(), 2u) << "fp32 and w8a8";
      for (const auto& [config, n] : per_config) {
        EXPECT_GE(n, 5) << config << ": at least min_iters samples";
        EXPECT_LE(n, 1000) << config;
      }
    }
    EXPECT_TRUE(types.count("histogram")) << "a histogram of the samples";
    EXPECT_TRUE(types.count("xychart")) << "the samples in run order";
  }
}

// The bit-width dashboard's paired-delta panel (config_accuracy, 0005) shows, for the job
// that ran, each quantized configuration's top-1 delta with its 95% interval, the
// McNemar p-value, the discordant counts and the tie count, exactly as the worker stored
// them (in points), and whether the interval excludes 0.
TEST_F(DashboardsTest, PairedDeltaPanelShowsTheIntervalAndDiscordantCounts) {
  ASSERT_NO_FATAL_FAILURE(RunJob());
  auto db = store::Db::Connect(cluster_->Uri("lab"));
  ASSERT_TRUE(db.ok()) << db.status();
  auto outcomes = store::ListConfigOutcomes(**db, job_id_);
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  ASSERT_EQ(outcomes->size(), 2u);
  const store::ConfigOutcome& w8 = (*outcomes)[1];
  ASSERT_EQ(w8.config, "w8a8");
  ASSERT_TRUE(w8.vs_baseline.has_value()) << "the worker stores the paired delta";
  int panels = 0;
  for (const auto& [file, d] : LoadDashboards()) {
    if (file != "bitwidth.json") continue;
    std::map<std::string, std::string> vars;
    int queries = 0;
    ASSERT_NO_FATAL_FAILURE(ResolveVariables(d, job_id_, &vars, &queries));
    for (const Json& p : d["panels"]) {
      const std::string sql_text = p["targets"][0].value("rawSql", "");
      if (sql_text.find("FROM config_accuracy") == std::string::npos) continue;
      ++panels;
      SCOPED_TRACE(p.value("title", ""));
      auto sql = Expand(sql_text, vars);
      ASSERT_TRUE(sql.ok()) << sql.status();
      auto rows = AsDashboardRole(*sql);
      ASSERT_TRUE(rows.ok()) << rows.status() << "\n" << *sql;
      ASSERT_EQ(rows->size(), 1u) << "w8a8 only: the baseline has no delta";
      std::map<std::string, int> col;
      for (int i = 0; i < static_cast<int>(rows->columns()); ++i) col[rows->column_name(i)] = i;
      for (const char* name : {"configuration", "tied top-1", "Δ top-1 (pp)", "95% CI low (pp)", "95% CI high (pp)",
                               "p (McNemar)", "significant", "FP32 right, config wrong", "FP32 wrong, config right"})
        ASSERT_TRUE(col.count(name)) << "no column \"" << name << "\"";
      const pqxx::row row = (*rows)[0];
      const store::PairedDelta& pd = *w8.vs_baseline;
      EXPECT_EQ(std::string(row[col["configuration"]].c_str()), "w8a8");
      EXPECT_EQ(row[col["tied top-1"]].as<int64_t>(), w8.tied_top1.value_or(-1));
      EXPECT_DOUBLE_EQ(row[col["Δ top-1 (pp)"]].as<double>(), 100 * pd.delta);
      EXPECT_DOUBLE_EQ(row[col["95% CI low (pp)"]].as<double>(), 100 * pd.ci_low);
      EXPECT_DOUBLE_EQ(row[col["95% CI high (pp)"]].as<double>(), 100 * pd.ci_high);
      EXPECT_LE(pd.ci_low, pd.delta);
      EXPECT_LE(pd.delta, pd.ci_high);
      EXPECT_DOUBLE_EQ(row[col["p (McNemar)"]].as<double>(), pd.p_value);
      EXPECT_EQ(row[col["FP32 right, config wrong"]].as<int64_t>(), pd.fp32_right_config_wrong);
      EXPECT_EQ(row[col["FP32 wrong, config right"]].as<int64_t>(), pd.fp32_wrong_config_right);
      const bool significant = pd.ci_low > 0 || pd.ci_high < 0;
      EXPECT_EQ(std::string(row[col["significant"]].c_str()), significant ? "yes" : "no: indistinguishable from 0");
    }
  }
  EXPECT_EQ(panels, 1) << "one paired-delta panel on the bit-width dashboard";
}

TEST_F(DashboardsTest, TheDashboardRoleReadsViewsButNotTables) {
  auto denied = AsDashboardRole("SELECT count(*) FROM jobs");
  ASSERT_FALSE(denied.ok());
  EXPECT_THAT(std::string(denied.status().message()), ::testing::HasSubstr("permission denied"));
  auto who = AsDashboardRole("SELECT current_user");
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(std::string((*who)[0][0].c_str()), "qbench_dashboard");
}

// deploy/postgres/grafana_login.sql ran before the migrations (as at initdb): `grafana`
// logs in, reads the views through qbench_dashboard, and can neither read tables nor write.
TEST_F(DashboardsTest, GrafanaLoginRoleIsReadOnly) {
  {
    pqxx::connection admin{cluster_->Uri("lab")};
    pqxx::work w{admin};
    const pqxx::row r = w.exec1(
        "SELECT rolcanlogin, rolpassword IS NOT NULL, pg_has_role('grafana', 'qbench_dashboard', 'USAGE'), "
        "(SELECT rolcanlogin FROM pg_authid WHERE rolname = 'qbench_dashboard') "
        "FROM pg_authid WHERE rolname = 'grafana'");
    EXPECT_TRUE(r[0].as<bool>());
    EXPECT_TRUE(r[1].as<bool>()) << "no password set";
    EXPECT_TRUE(r[2].as<bool>());
    EXPECT_FALSE(r[3].as<bool>()) << "qbench_dashboard must stay NOLOGIN";
  }
  std::string uri = cluster_->Uri("lab");
  uri.replace(uri.find("postgres@"), 9, "grafana@");
  pqxx::connection c{uri};
  for (const char* view : {"config_comparison", "pareto", "model_catalog", "model_pareto", "layer_sensitivity",
                           "job_overview", "queue_state", "job_throughput", "worker_status", "latency_samples",
                           "config_accuracy", "search_front"}) {
    pqxx::work w{c};
    EXPECT_NO_THROW(w.exec(absl::StrCat("SELECT * FROM ", view, " LIMIT 1"))) << view;
  }
  for (const char* sql : {"SELECT * FROM jobs LIMIT 1", "SELECT * FROM tokens LIMIT 1", "CREATE TABLE t (x int)"}) {
    pqxx::work w{c};
    EXPECT_THROW(w.exec(sql), pqxx::sql_error) << sql;
  }
}

}  // namespace
}  // namespace qbench
