// The store against a real throwaway PostgreSQL 15 cluster (tests/pg_test_util.h).
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/store/blobs.h"
#include "server/store/crypto.h"
#include "server/store/db.h"
#include "server/store/device_outcomes.h"
#include "server/store/jobs.h"
#include "server/store/migrate.h"
#include "server/store/notify.h"
#include "server/store/outcomes.h"
#include "server/store/pool.h"
#include "server/store/queue.h"
#include "server/store/results.h"
#include "server/store/search.h"
#include "server/store/teams.h"
#include "server/store/workers.h"
#include "tests/pg_test_util.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
// libpqxx 6.4 drops one PGresult (about 2 KiB) when it finds its backend killed; not ours.
#define QB_IGNORE_LIBPQXX_LEAKS() __lsan::ScopedDisabler qb_lsan_disabler_
#else
#define QB_IGNORE_LIBPQXX_LEAKS() (void)0
#endif

namespace qbench::store {
namespace {

#define ASSERT_OK(expr)                                         \
  do {                                                          \
    const absl::Status qb_s_ = (expr);                          \
    ASSERT_TRUE(qb_s_.ok()) << #expr << ": " << qb_s_.ToString(); \
  } while (0)
#define ASSERT_OK_AND_ASSIGN(lhs, expr)                                          \
  auto QB_TEST_CONCAT(sor_, __LINE__) = (expr);                                  \
  ASSERT_TRUE(QB_TEST_CONCAT(sor_, __LINE__).ok()) << #expr << ": "              \
                                                   << QB_TEST_CONCAT(sor_, __LINE__).status().ToString(); \
  lhs = std::move(QB_TEST_CONCAT(sor_, __LINE__)).value()
#define QB_TEST_CONCAT_(a, b) a##b
#define QB_TEST_CONCAT(a, b) QB_TEST_CONCAT_(a, b)

std::string MigrationsDir() {
  const char* src = std::getenv("QB_SOURCE_DIR");
  return absl::StrCat(src && *src ? src : QB_SOURCE_DIR_DEFAULT, "/migrations");
}

// The migration files of this checkout (versions 1..N).
std::vector<MigrationFile> LatestMigrations() { return ReadMigrations(MigrationsDir()).value(); }

LayerResult Layer(const std::string& name, const std::string& op, std::optional<double> sqnr) {
  LayerResult l;
  l.layer = name;
  l.op_type = op;
  l.sqnr_db = sqnr;
  return l;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Never skip: a missing PostgreSQL fails every test here with the reason.
    auto pg = qbench::testing::SharedPgCluster();
    ASSERT_TRUE(pg.ok()) << "PostgreSQL cluster did not start: " << pg.status();
    cluster_ = *pg;
    static int counter = 0;
    db_name_ = absl::StrCat("t", ++counter);
    ASSERT_OK(cluster_->CreateDatabase(db_name_));
    ASSERT_OK_AND_ASSIGN(db_, Db::Connect(cluster_->Uri(db_name_)));
    ASSERT_OK_AND_ASSIGN(MigrateReport report, Migrate(*db_, MigrationsDir()));
    ASSERT_EQ(report.applied.size(), LatestMigrations().size());
    ASSERT_OK_AND_ASSIGN(team_, CreateTeam(*db_, "vision"));
  }

  std::unique_ptr<Db> Connect() {
    auto db = Db::Connect(cluster_->Uri(db_name_));
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(*db) : nullptr;
  }

  // A runnable job with an fp32 baseline and one int8 configuration.
  NewJob MakeJob(std::optional<std::string> request_id = std::nullopt, std::string spec = R"({"model": "m.onnx"})") {
    NewJob job;
    job.team_id = team_;
    job.request_id = std::move(request_id);
    job.spec_json = std::move(spec);
    job.configs = {{"fp32", "{}", true}, {"w8a8", R"({"weights": 8})", false}};
    return job;
  }

  qbench::testing::PgTestCluster* cluster_ = nullptr;  // owned by SharedPgCluster
  std::string db_name_;
  std::unique_ptr<Db> db_;
  int64_t team_ = 0;
};

TEST_F(StoreTest, MigrateTwiceIsNoOpAndRecordsVersions) {
  ASSERT_OK_AND_ASSIGN(MigrateReport again, Migrate(*db_, MigrationsDir()));
  const std::vector<MigrationFile> files = LatestMigrations();
  EXPECT_TRUE(again.applied.empty());
  EXPECT_EQ(again.current_version, files.back().version);
  pqxx::connection c{cluster_->Uri(db_name_)};
  pqxx::work w{c};
  auto r = w.exec("SELECT version, name, length(sha256) FROM schema_migrations ORDER BY version");
  ASSERT_EQ(r.size(), files.size());
  EXPECT_EQ(r[0][0].as<int>(), 1);
  EXPECT_EQ(r[0][1].as<std::string>(), "0001_init.sql");
  EXPECT_EQ(r[0][2].as<int>(), 64);
  EXPECT_EQ(r[1][1].as<std::string>(), "0002_service.sql");
}

TEST_F(StoreTest, MigrateRefusesEditedAndUnknownVersions) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(cluster_->dir()) / "mig";
  fs::create_directories(dir);
  for (const MigrationFile& f : LatestMigrations()) fs::copy_file(fs::path(MigrationsDir()) / f.name, dir / f.name);
  {
    std::ofstream(dir / "0001_init.sql", std::ios::app) << "\n-- edited\n";
  }
  auto edited = Migrate(*db_, dir.string());
  EXPECT_EQ(edited.status().code(), absl::StatusCode::kFailedPrecondition) << edited.status();
  EXPECT_THAT(std::string(edited.status().message()), ::testing::HasSubstr("changed after it was applied"));

  fs::remove(dir / "0001_init.sql");
  fs::copy_file(fs::path(MigrationsDir()) / "0001_init.sql", dir / "0001_init.sql");
  fs::remove(dir / "0002_service.sql");
  auto unknown = Migrate(*db_, dir.string());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kFailedPrecondition) << unknown.status();

  std::ofstream(dir / "1_bad name.sql") << "SELECT 1;";
  EXPECT_EQ(Migrate(*db_, dir.string()).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Migrate(*db_, (dir / "absent").string()).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(StoreTest, TokenVerifyAndRevoke) {
  ASSERT_OK_AND_ASSIGN(NewToken token, CreateToken(*db_, team_, "ci"));
  EXPECT_THAT(token.plaintext, ::testing::StartsWith(kTokenPrefix));
  ASSERT_OK_AND_ASSIGN(int64_t team, VerifyToken(*db_, token.plaintext));
  EXPECT_EQ(team, team_);
  {  // only the hash is stored
    pqxx::connection c{cluster_->Uri(db_name_)};
    pqxx::work w{c};
    EXPECT_EQ(w.exec_params1("SELECT count(*) FROM tokens WHERE position($1::bytea IN sha256) > 0",
                             pqxx::binarystring(token.plaintext))[0]
                  .as<int>(),
              0);
  }
  EXPECT_EQ(VerifyToken(*db_, token.plaintext + "x").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(VerifyToken(*db_, "garbage").status().code(), absl::StatusCode::kUnauthenticated);
  ASSERT_OK(RevokeToken(*db_, token.id));
  ASSERT_OK(RevokeToken(*db_, token.id));  // idempotent
  EXPECT_EQ(VerifyToken(*db_, token.plaintext).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(RevokeToken(*db_, 999999).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(CreateToken(*db_, 999999, "x").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(CreateTeam(*db_, "vision").status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(StoreTest, RequestIdMakesCreateIdempotent) {
  NewJob named = MakeJob("req-1");
  named.display_name = "resnet sweep";
  named.samples = 500;
  ASSERT_OK_AND_ASSIGN(CreateJobResult first, CreateJob(*db_, named));
  EXPECT_TRUE(first.created);
  EXPECT_EQ(first.job.display_name, "resnet sweep");
  EXPECT_EQ(first.job.samples, 500);
  EXPECT_FALSE(first.job.started_at.has_value());
  ASSERT_OK_AND_ASSIGN(CreateJobResult retry, CreateJob(*db_, MakeJob("req-1")));
  EXPECT_FALSE(retry.created);
  EXPECT_EQ(retry.job.id, first.job.id);
  auto other_spec = CreateJob(*db_, MakeJob("req-1", R"({"model": "other.onnx"})"));
  EXPECT_EQ(other_spec.status().code(), absl::StatusCode::kAlreadyExists) << other_spec.status();
  ASSERT_OK_AND_ASSIGN(CreateJobResult second, CreateJob(*db_, MakeJob("req-2")));
  EXPECT_NE(second.job.id, first.job.id);
  // Another team may use the same request_id.
  ASSERT_OK_AND_ASSIGN(int64_t team2, CreateTeam(*db_, "speech"));
  NewJob j = MakeJob("req-1");
  j.team_id = team2;
  ASSERT_OK_AND_ASSIGN(CreateJobResult other_team, CreateJob(*db_, j));
  EXPECT_TRUE(other_team.created);
  EXPECT_EQ(GetJob(*db_, team2, first.job.id).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(StoreTest, MalformedInputIsInvalidArgument) {
  EXPECT_EQ(CreateTeam(*db_, "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateToken(*db_, team_, "").status().code(), absl::StatusCode::kInvalidArgument);
  NewJob no_configs = MakeJob();
  no_configs.configs.clear();
  EXPECT_EQ(CreateJob(*db_, no_configs).status().code(), absl::StatusCode::kInvalidArgument);
  NewJob empty_name = MakeJob();
  empty_name.configs[1].name = "";
  EXPECT_EQ(CreateJob(*db_, empty_name).status().code(), absl::StatusCode::kInvalidArgument);
  NewJob dup = MakeJob();
  dup.configs[1].name = "fp32";
  EXPECT_EQ(CreateJob(*db_, dup).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateJob(*db_, MakeJob(std::string(""))).status().code(), absl::StatusCode::kInvalidArgument);
  auto bad_json = CreateJob(*db_, MakeJob(std::nullopt, "{not json"));
  EXPECT_EQ(bad_json.status().code(), absl::StatusCode::kInvalidArgument) << bad_json.status();
  NewJob bad_team = MakeJob();
  bad_team.team_id = 424242;
  EXPECT_EQ(CreateJob(*db_, bad_team).status().code(), absl::StatusCode::kFailedPrecondition);
  // SQL metacharacters are data, never SQL.
  ASSERT_OK_AND_ASSIGN(int64_t t, CreateTeam(*db_, "x'); DROP TABLE jobs; --"));
  EXPECT_GT(t, 0);
  ASSERT_OK(CreateJob(*db_, MakeJob()).status());
  ListJobsRequest neg;
  neg.team_id = team_;
  neg.page_size = -1;
  EXPECT_EQ(ListJobs(*db_, neg).status().code(), absl::StatusCode::kInvalidArgument);
  neg.page_size = 1;
  neg.page_token = "!!!";
  EXPECT_EQ(ListJobs(*db_, neg).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ClaimJob(*db_, "", {"cpu"}, {}, absl::Seconds(10)).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, KeysetPaginationReturnsEveryJobOnce) {
  std::set<int64_t> created;
  for (int i = 0; i < 23; ++i) {
    ASSERT_OK_AND_ASSIGN(CreateJobResult r, CreateJob(*db_, MakeJob()));
    created.insert(r.job.id);
  }
  ListJobsRequest req;
  req.team_id = team_;
  req.page_size = 5;
  std::vector<int64_t> seen;
  int pages = 0;
  do {
    ASSERT_OK_AND_ASSIGN(JobPage page, ListJobs(*db_, req));
    for (const Job& j : page.jobs) seen.push_back(j.id);
    req.page_token = page.next_page_token;
    if (++pages == 2) ASSERT_OK(CreateJob(*db_, MakeJob()).status());  // newer jobs do not shift pages
  } while (!req.page_token.empty());
  EXPECT_EQ(pages, 5);
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()), created);
  EXPECT_EQ(seen.size(), created.size());
  EXPECT_TRUE(std::is_sorted(seen.rbegin(), seen.rend()));

  // A state filter, and a token reused with another filter is refused.
  ASSERT_OK_AND_ASSIGN(auto claimed, ClaimJob(*db_, "w1", {"cpu"}, {}, absl::Seconds(30)));
  ASSERT_TRUE(claimed.has_value());
  ListJobsRequest running;
  running.team_id = team_;
  running.state = JobState::kRunning;
  ASSERT_OK_AND_ASSIGN(JobPage rp, ListJobs(*db_, running));
  ASSERT_EQ(rp.jobs.size(), 1u);
  EXPECT_EQ(rp.jobs[0].id, claimed->lease.job_id);
  ListJobsRequest by_name;
  by_name.team_id = team_;
  by_name.display_name = "nightly";
  NewJob nightly = MakeJob();
  nightly.display_name = "nightly";
  ASSERT_OK_AND_ASSIGN(CreateJobResult n, CreateJob(*db_, nightly));
  ASSERT_OK_AND_ASSIGN(JobPage np, ListJobs(*db_, by_name));
  ASSERT_EQ(np.jobs.size(), 1u);
  EXPECT_EQ(np.jobs[0].id, n.job.id);
  ListJobsRequest first;
  first.team_id = team_;
  first.page_size = 2;
  ASSERT_OK_AND_ASSIGN(JobPage p1, ListJobs(*db_, first));
  running.page_token = p1.next_page_token;
  EXPECT_EQ(ListJobs(*db_, running).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, TwoConcurrentClaimersClaimEveryJobExactlyOnce) {
  constexpr int kJobs = 50;
  for (int i = 0; i < kJobs; ++i) ASSERT_OK(CreateJob(*db_, MakeJob()).status());
  std::mutex mu;
  std::map<int64_t, int> claims;
  std::atomic<int> errors{0};
  auto worker = [&](std::string name) {
    auto db = Db::Connect(cluster_->Uri(db_name_));
    if (!db.ok()) {
      ++errors;
      return;
    }
    for (;;) {
      auto job = ClaimJob(**db, name, {"cpu"}, {}, absl::Seconds(60));
      if (!job.ok()) {
        ++errors;
        return;
      }
      if (!job->has_value()) return;
      {
        std::lock_guard<std::mutex> lock(mu);
        ++claims[(*job)->lease.job_id];
      }
      if (!CompleteJob(**db, (*job)->lease).ok()) ++errors;
    }
  };
  std::thread a(worker, "worker-a"), b(worker, "worker-b");
  a.join();
  b.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(claims.size(), static_cast<size_t>(kJobs));
  for (const auto& [id, n] : claims) EXPECT_EQ(n, 1) << "job " << id;
  ListJobsRequest req;
  req.team_id = team_;
  req.state = JobState::kSucceeded;
  req.page_size = 100;
  ASSERT_OK_AND_ASSIGN(JobPage done, ListJobs(*db_, req));
  EXPECT_EQ(done.jobs.size(), static_cast<size_t>(kJobs));
}

TEST_F(StoreTest, ClaimHonoursDevices) {
  NewJob gpu = MakeJob();
  gpu.device_class = "gpu";
  ASSERT_OK(CreateJob(*db_, gpu).status());
  NewJob named = MakeJob();
  named.device_name = "lab-3";
  ASSERT_OK_AND_ASSIGN(CreateJobResult named_job, CreateJob(*db_, named));
  ASSERT_OK_AND_ASSIGN(auto none, ClaimJob(*db_, "w", {"npu"}, {"other"}, absl::Seconds(5)));
  EXPECT_FALSE(none.has_value());
  ASSERT_OK_AND_ASSIGN(auto by_name, ClaimJob(*db_, "w", {"npu"}, {"lab-3"}, absl::Seconds(5)));
  ASSERT_TRUE(by_name.has_value());
  EXPECT_EQ(by_name->lease.job_id, named_job.job.id);
  ASSERT_OK_AND_ASSIGN(auto by_class, ClaimJob(*db_, "w", {"cpu", "gpu"}, {}, absl::Seconds(5)));
  ASSERT_TRUE(by_class.has_value());
  EXPECT_EQ(by_class->configs.size(), 2u);
  EXPECT_TRUE(by_class->configs[0].is_baseline);
}

// Attached devices (0009): a job whose spec names devices goes only to a worker that has
// all of them, by id or class; a job naming none goes to any worker.
TEST_F(StoreTest, ClaimNeedsEveryDeviceTheSpecNames) {
  ASSERT_OK_AND_ASSIGN(CreateJobResult two, CreateJob(*db_, MakeJob(std::nullopt, R"({"devices": ["ort-cpu", "gpu-trt"]})")));
  ASSERT_OK_AND_ASSIGN(auto none, ClaimJob(*db_, "w", {"cpu"}, {}, absl::Seconds(5), {"ort-cpu", "cpu-ort"}));
  EXPECT_FALSE(none.has_value()) << "gpu-trt is missing";
  ASSERT_OK_AND_ASSIGN(CreateJobResult plain, CreateJob(*db_, MakeJob()));
  ASSERT_OK_AND_ASSIGN(auto any, ClaimJob(*db_, "w", {"cpu"}, {}, absl::Seconds(5), {"ort-cpu"}));
  ASSERT_TRUE(any.has_value());
  EXPECT_EQ(any->lease.job_id, plain.job.id) << "a job naming no device passes over the one it cannot run";
  ASSERT_OK_AND_ASSIGN(auto both, ClaimJob(*db_, "w2", {"cpu"}, {}, absl::Seconds(5), {"gpu-trt", "t4", "ort-cpu"}));
  ASSERT_TRUE(both.has_value());
  EXPECT_EQ(both->lease.job_id, two.job.id);
  pqxx::connection c{cluster_->Uri(db_name_)};
  pqxx::work w{c};
  EXPECT_EQ(w.exec_params1("SELECT devices::text FROM jobs WHERE id = $1", two.job.id)[0].as<std::string>(),
            "{gpu-trt,ort-cpu}");
}

// A device outcome comes back exactly as written (17-digit values, NULLs, notes in
// order); an unknown configuration is NOT_FOUND; a lost lease writes nothing.
TEST_F(StoreTest, DeviceOutcomesRoundTripAndNeedTheLease) {
  ASSERT_OK_AND_ASSIGN(CreateJobResult created, CreateJob(*db_, MakeJob(std::nullopt, R"({"devices": ["ort-cpu"]})")));
  ASSERT_OK_AND_ASSIGN(auto claimed, ClaimJob(*db_, "w1", {"cpu"}, {}, absl::Seconds(30), {"ort-cpu"}));
  ASSERT_TRUE(claimed.has_value());
  DeviceOutcome o;
  o.config = "w8a8";
  o.device = "workers/w1/devices/ort-cpu";
  o.device_class = "cpu-ort";
  o.runner = "ort";
  o.runtime = "onnxruntime-node";
  o.runtime_version = "1.20.1";
  o.provider = "cpu";
  o.notes = {"first, with a comma", "second \"quoted\""};
  o.samples = 200;
  o.top1 = 0.91234567890123456;
  o.top5 = 0.995;
  o.top1_hits = 182;
  o.top5_hits = 199;
  o.tied_top1 = 0;
  o.agreement = 0.98;
  o.vs_baseline = PairedDelta{-0.005, -0.0123456789012345, 0.0023, 0.5, 3, 2};
  o.delta_interval_method = "interval";
  o.delta_test_method = "mcnemar";
  o.differs_from_engine = 4;
  o.seconds = 1.25;
  ASSERT_OK(UpsertDeviceOutcome(*db_, claimed->lease, o));
  DeviceOutcome failed;
  failed.config = "fp32";
  failed.device = "workers/w1/devices/broken";
  failed.runner = "command";
  failed.error = "device broken (command): the runner was killed by signal 11 (SIGSEGV)";
  ASSERT_OK(UpsertDeviceOutcome(*db_, claimed->lease, failed));
  ASSERT_OK(UpsertDeviceOutcome(*db_, claimed->lease, o));  // twice: one row
  DeviceOutcome unknown = o;
  unknown.config = "w2a2";
  EXPECT_EQ(UpsertDeviceOutcome(*db_, claimed->lease, unknown).code(), absl::StatusCode::kNotFound);
  DeviceOutcome bad = o;
  bad.device = "";
  EXPECT_EQ(UpsertDeviceOutcome(*db_, claimed->lease, bad).code(), absl::StatusCode::kInvalidArgument);
  Lease stolen = claimed->lease;
  stolen.worker_id = "w9";
  EXPECT_EQ(UpsertDeviceOutcome(*db_, stolen, o).code(), absl::StatusCode::kFailedPrecondition);

  ASSERT_OK_AND_ASSIGN(std::vector<DeviceOutcome> got, ListDeviceOutcomes(*db_, created.job.id));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].config, "fp32");  // configuration order
  EXPECT_EQ(got[0].error, failed.error);
  EXPECT_FALSE(got[0].top1.has_value());
  EXPECT_FALSE(got[0].vs_baseline.has_value());
  EXPECT_FALSE(got[0].differs_from_engine.has_value());
  const DeviceOutcome& g = got[1];
  EXPECT_EQ(g.device, o.device);
  EXPECT_EQ(g.device_class, "cpu-ort");
  EXPECT_EQ(g.runner, "ort");
  EXPECT_EQ(g.runtime, "onnxruntime-node");
  EXPECT_EQ(g.runtime_version, "1.20.1");
  EXPECT_EQ(g.provider, "cpu");
  EXPECT_EQ(g.notes, o.notes);
  EXPECT_EQ(g.samples, 200);
  EXPECT_EQ(g.top1, o.top1);
  EXPECT_EQ(g.top5, o.top5);
  EXPECT_EQ(g.top1_hits, 182);
  EXPECT_EQ(g.agreement, 0.98);
  EXPECT_FALSE(g.sqnr_db.has_value());
  ASSERT_TRUE(g.vs_baseline.has_value());
  EXPECT_EQ(g.vs_baseline->ci_low, o.vs_baseline->ci_low);
  EXPECT_EQ(g.vs_baseline->fp32_right_config_wrong, 3);
  EXPECT_EQ(g.vs_baseline->fp32_wrong_config_right, 2);
  EXPECT_EQ(g.differs_from_engine, 4);
  EXPECT_EQ(g.seconds, 1.25);
  pqxx::connection c{cluster_->Uri(db_name_)};
  pqxx::work w{c};
  w.exec("SET ROLE qbench_dashboard");
  EXPECT_EQ(w.exec_params1("SELECT count(*) FROM device_comparison WHERE job_id = $1", created.job.id)[0].as<int>(), 2);
}

TEST_F(StoreTest, ExpiredLeaseIsRetriedThenFailedWithHistory) {
  NewJob spec = MakeJob();
  spec.max_attempts = 3;
  ASSERT_OK_AND_ASSIGN(CreateJobResult created, CreateJob(*db_, spec));
  const int64_t id = created.job.id;
  RetryPolicy no_wait;
  no_wait.backoff_base = absl::ZeroDuration();
  Lease stale;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    ASSERT_OK_AND_ASSIGN(auto job, ClaimJob(*db_, absl::StrCat("w", attempt), {"cpu"}, {}, absl::Milliseconds(50)));
    ASSERT_TRUE(job.has_value()) << "attempt " << attempt;
    EXPECT_EQ(job->lease.attempt, attempt);
    ASSERT_OK(RenewLease(*db_, job->lease, absl::Milliseconds(50), std::string("calibrating")).status());
    absl::SleepFor(absl::Milliseconds(120));  // the worker "dies": no heartbeat
    ASSERT_OK_AND_ASSIGN(ReapReport reaped, ReapExpired(*db_, no_wait));
    if (attempt < 3) {
      EXPECT_THAT(reaped.requeued, ::testing::ElementsAre(id));
    } else {
      EXPECT_THAT(reaped.failed, ::testing::ElementsAre(id));
    }
    // The dead worker's lease is gone: it cannot complete or write results.
    EXPECT_EQ(CompleteJob(*db_, job->lease).code(), absl::StatusCode::kFailedPrecondition);
    stale = job->lease;
  }
  ASSERT_OK_AND_ASSIGN(Job failed, GetJob(*db_, team_, id));
  EXPECT_EQ(failed.state, JobState::kFailed);
  ASSERT_TRUE(failed.started_at.has_value());
  ASSERT_TRUE(failed.finished_at.has_value());
  EXPECT_LE(*failed.started_at, *failed.finished_at);
  EXPECT_EQ(failed.attempts, 3);
  EXPECT_THAT(failed.error.value_or(""), ::testing::HasSubstr("attempt 3 of 3"));
  ASSERT_OK_AND_ASSIGN(std::vector<JobEvent> events, ListJobEvents(*db_, id));
  int errors = 0;
  for (const JobEvent& e : events) errors += e.kind == "error";
  EXPECT_EQ(errors, 3);  // one per expired attempt, all kept
  EXPECT_EQ(events.back().state.value_or(""), "failed");
  EXPECT_EQ(RenewLease(*db_, stale, absl::Seconds(1)).status().code(), absl::StatusCode::kFailedPrecondition);

  // Backoff: a requeued job is not claimable before not_before.
  ASSERT_OK_AND_ASSIGN(CreateJobResult b, CreateJob(*db_, MakeJob()));
  ASSERT_OK_AND_ASSIGN(auto job, ClaimJob(*db_, "w", {"cpu"}, {}, absl::Milliseconds(20)));
  ASSERT_TRUE(job.has_value());
  absl::SleepFor(absl::Milliseconds(60));
  RetryPolicy slow;
  slow.backoff_base = absl::Seconds(60);
  ASSERT_OK_AND_ASSIGN(ReapReport r, ReapExpired(*db_, slow));
  EXPECT_THAT(r.requeued, ::testing::ElementsAre(b.job.id));
  ASSERT_OK_AND_ASSIGN(auto none, ClaimJob(*db_, "w", {"cpu"}, {}, absl::Seconds(5)));
  EXPECT_FALSE(none.has_value());
}

TEST_F(StoreTest, CancelQueuedAtOnceAndRunningViaHeartbeat) {
  ASSERT_OK_AND_ASSIGN(CreateJobResult q, CreateJob(*db_, MakeJob()));
  ASSERT_OK_AND_ASSIGN(Job cancelled, CancelJob(*db_, team_, q.job.id));
  EXPECT_EQ(cancelled.state, JobState::kCancelled);
  ASSERT_OK_AND_ASSIGN(CreateJobResult r, CreateJob(*db_, MakeJob()));
  ASSERT_OK_AND_ASSIGN(auto job, ClaimJob(*db_, "w", {"cpu"}, {}, absl::Seconds(30)));
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->lease.job_id, r.job.id);
  ASSERT_OK_AND_ASSIGN(LeaseStatus before, RenewLease(*db_, job->lease, absl::Seconds(30)));
  EXPECT_FALSE(before.cancel_requested);
  ASSERT_OK_AND_ASSIGN(Job cancelling, CancelJob(*db_, team_, r.job.id));
  EXPECT_EQ(cancelling.state, JobState::kCancelling);
  ASSERT_OK_AND_ASSIGN(LeaseStatus after, RenewLease(*db_, job->lease, absl::Seconds(30)));
  EXPECT_TRUE(after.cancel_requested);
  ASSERT_OK(FinishCancelled(*db_, job->lease));
  ASSERT_OK_AND_ASSIGN(Job done, GetJob(*db_, team_, r.job.id));
  EXPECT_EQ(done.state, JobState::kCancelled);
  EXPECT_EQ(CancelJob(*db_, team_ + 1000, r.job.id).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(StoreTest, ResultUpsertTwiceGivesOneRowAndViewsCompare) {
  NewJob spec = MakeJob();
  spec.configs.push_back({"w4a8", "{}", false});
  ASSERT_OK(CreateJob(*db_, spec).status());
  ASSERT_OK_AND_ASSIGN(auto job, ClaimJob(*db_, "w", {"cpu"}, {}, absl::Seconds(30)));
  ASSERT_TRUE(job.has_value());
  auto row = [](std::string config, double top1, int64_t bytes, double p50_ms) {
    ResultRow r;
    r.config = std::move(config);
    r.device = "cpu0";
    r.batch_size = 1;
    r.top1 = top1;
    r.model_bytes = bytes;
    r.p50_ms = p50_ms;
    return r;
  };
  ResultRow fp32 = row("fp32", 0.90, 4000, 2.0);
  ResultRow int8 = row("w8a8", 0.70, 1000, 1.0);
  ASSERT_OK(UpsertResult(*db_, job->lease, fp32));
  ASSERT_OK(UpsertResult(*db_, job->lease, int8));
  ASSERT_OK(UpsertResult(*db_, job->lease, row("w4a8", 0.80, 1200, 1.5)));  // dominated by w8a8
  int8.top1 = 0.89;  // the retried attempt measures again
  ASSERT_OK(UpsertResult(*db_, job->lease, int8));
  ASSERT_OK_AND_ASSIGN(std::vector<ResultRow> rows, ListResults(*db_, job->lease.job_id));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].config, "w8a8");
  EXPECT_DOUBLE_EQ(rows[1].top1.value_or(0), 0.89);
  EXPECT_FALSE(rows[1].energy_j.has_value());
  ResultRow unknown = int8;
  unknown.config = "w2a2";
  EXPECT_EQ(UpsertResult(*db_, job->lease, unknown).code(), absl::StatusCode::kNotFound);
  unknown.config = "w8a8";
  unknown.batch_size = 0;
  EXPECT_EQ(UpsertResult(*db_, job->lease, unknown).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_OK(CompleteJob(*db_, job->lease));

  // Dashboards through the read-only role: views readable, tables not.
  pqxx::connection c{cluster_->Uri(db_name_)};
  pqxx::work w{c};
  w.exec("SET ROLE qbench_dashboard");
  auto cmp = w.exec("SELECT config, top1_delta, latency_ratio, size_ratio FROM config_comparison ORDER BY config");
  ASSERT_EQ(cmp.size(), 3u);
  EXPECT_EQ(cmp[2][0].as<std::string>(), "w8a8");
  EXPECT_NEAR(cmp[2][1].as<double>(), -0.01, 1e-9);
  EXPECT_DOUBLE_EQ(cmp[2][2].as<double>(), 0.5);
  EXPECT_DOUBLE_EQ(cmp[2][3].as<double>(), 0.25);
  // w8a8 is faster and smaller, fp32 more accurate: both on the Pareto front; w4a8 is not.
  auto front = w.exec("SELECT config FROM pareto ORDER BY config");
  ASSERT_EQ(front.size(), 2u);
  EXPECT_EQ(front[0][0].as<std::string>(), "fp32");
  EXPECT_EQ(front[1][0].as<std::string>(), "w8a8");
  w.exec("SAVEPOINT s");
  EXPECT_THROW(w.exec("SELECT * FROM results"), pqxx::insufficient_privilege);
}

// Every latency detail field (0004) comes back exactly as written, the samples array in
// order and at full precision (values that need 17 significant digits), a retry replaces
// it, and the dashboard views expose it to the read-only role.
TEST_F(StoreTest, ResultLatencyDetailRoundTripsExactly) {
  ASSERT_OK(CreateJob(*db_, MakeJob()).status());
  ASSERT_OK_AND_ASSIGN(auto job, ClaimJob(*db_, "w", {"cpu"}, {}, absl::Seconds(30)));
  ASSERT_TRUE(job.has_value());
  ResultRow r;
  r.config = "w8a8";
  r.device = "cpu0";
  r.batch_size = 8;
  r.p50_ms = 1.0 / 3;
  r.p99_ms = 2.0 / 3;
  r.p90_ms = 0.1 + 0.2;  // 0.30000000000000004
  r.p999_ms = 0.7071067811865476;
  r.min_ms = 1e-5 / 3;
  r.max_ms = 12345.678901234567;
  r.mean_ms = 0.4142135623730951;
  r.median_ci_low_ms = 0.3183098861837907;
  r.median_ci_high_ms = 0.36787944117144233;
  r.latency_sessions = 5;
  r.latency_method = "sessions k=5 r=1 (93.75%), \"quoted\", {braces}";
  r.latency_samples_ms = {1.0 / 3, 0.1 + 0.2, 2.5e-7, 1e300, 0.1, 1.0 / 7, 123456789.12345679};
  ResultRow fp32 = r;  // a second row, without any detail
  fp32.config = "fp32";
  fp32.p90_ms = fp32.p999_ms = fp32.min_ms = fp32.max_ms = fp32.mean_ms = std::nullopt;
  fp32.median_ci_low_ms = fp32.median_ci_high_ms = std::nullopt;
  fp32.latency_sessions = std::nullopt;
  fp32.latency_method = std::nullopt;
  fp32.latency_samples_ms.clear();
  ASSERT_OK(UpsertResult(*db_, job->lease, fp32));
  ASSERT_OK(UpsertResult(*db_, job->lease, r));

  ASSERT_OK_AND_ASSIGN(std::vector<ResultRow> rows, ListResults(*db_, job->lease.job_id));
  ASSERT_EQ(rows.size(), 2u);
  const ResultRow& none = rows[0];
  EXPECT_EQ(none.config, "fp32");
  EXPECT_FALSE(none.p90_ms || none.p999_ms || none.min_ms || none.max_ms || none.mean_ms ||
               none.median_ci_low_ms || none.median_ci_high_ms || none.latency_sessions || none.latency_method);
  EXPECT_TRUE(none.latency_samples_ms.empty());
  const ResultRow& got = rows[1];
  EXPECT_EQ(got.config, "w8a8");
  // EXPECT_EQ, not DOUBLE_EQ: the text round trip must lose no bit.
  EXPECT_EQ(got.p50_ms, r.p50_ms);
  EXPECT_EQ(got.p99_ms, r.p99_ms);
  EXPECT_EQ(got.p90_ms, r.p90_ms);
  EXPECT_EQ(got.p999_ms, r.p999_ms);
  EXPECT_EQ(got.min_ms, r.min_ms);
  EXPECT_EQ(got.max_ms, r.max_ms);
  EXPECT_EQ(got.mean_ms, r.mean_ms);
  EXPECT_EQ(got.median_ci_low_ms, r.median_ci_low_ms);
  EXPECT_EQ(got.median_ci_high_ms, r.median_ci_high_ms);
  EXPECT_EQ(got.latency_sessions, 5);
  EXPECT_EQ(got.latency_method, r.latency_method);
  EXPECT_EQ(got.latency_samples_ms, r.latency_samples_ms);

  // A retried attempt with the engine's largest kept set replaces the array whole.
  r.latency_samples_ms.clear();
  for (int i = 0; i < 1000; ++i) r.latency_samples_ms.push_back(1.0 / (i + 3));
  ASSERT_OK(UpsertResult(*db_, job->lease, r));
  ASSERT_OK_AND_ASSIGN(rows, ListResults(*db_, job->lease.job_id));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].latency_samples_ms, r.latency_samples_ms);
  EXPECT_TRUE(rows[0].latency_samples_ms.empty());
  ASSERT_OK(CompleteJob(*db_, job->lease));

  pqxx::connection c{cluster_->Uri(db_name_)};
  pqxx::work w{c};
  w.exec("SET ROLE qbench_dashboard");
  auto samples = w.exec_params(
      "SELECT config, device, batch_size, ordinal, ms FROM latency_samples WHERE job_id = $1 ORDER BY ordinal",
      job->lease.job_id);
  ASSERT_EQ(samples.size(), 1000u);  // fp32 has none
  for (size_t i = 0; i < samples.size(); ++i) {
    EXPECT_EQ(samples[i][0].as<std::string>(), "w8a8");
    EXPECT_EQ(samples[i][1].as<std::string>(), "cpu0");
    EXPECT_EQ(samples[i][2].as<int>(), 8);
    EXPECT_EQ(samples[i][3].as<int>(), static_cast<int>(i) + 1);  // 1-based, run order
    EXPECT_EQ(samples[i][4].as<double>(), r.latency_samples_ms[i]);
  }
  auto cmp = w.exec_params(
      "SELECT p90_ms, p999_ms, min_ms, max_ms, mean_ms, median_ci_low_ms, median_ci_high_ms, latency_sessions, "
      "latency_method FROM config_comparison WHERE job_id = $1 AND config = 'w8a8'",
      job->lease.job_id);
  ASSERT_EQ(cmp.size(), 1u);
  EXPECT_EQ(cmp[0][0].as<double>(), *r.p90_ms);
  EXPECT_EQ(cmp[0][5].as<double>(), *r.median_ci_low_ms);
  EXPECT_EQ(cmp[0][6].as<double>(), *r.median_ci_high_ms);
  EXPECT_EQ(cmp[0][7].as<int>(), 5);
  EXPECT_EQ(cmp[0][8].as<std::string>(), *r.latency_method);
}

// Finding 8 (issue 17): a retried job shows only its final attempt's results. Attempt 1
// wrote w8a8 at batch 64 (a row, layers, an outcome, an export, the environment) and was
// handed back; attempt 2 wrote only fp32. No read and no view shows anything of attempt 1.
TEST_F(StoreTest, RetryHidesTheSupersededAttemptsResults) {
  ASSERT_OK_AND_ASSIGN(CreateJobResult created, CreateJob(*db_, MakeJob()));
  const int64_t id = created.job.id;
  ASSERT_OK_AND_ASSIGN(auto first, ClaimJob(*db_, "w1", {"cpu"}, {}, absl::Seconds(30)));
  ASSERT_TRUE(first.has_value());
  ResultRow row;
  row.config = "w8a8";
  row.device = "workers/w1/devices/cpu0";
  row.batch_size = 64;
  row.top1 = 0.5;
  row.p50_ms = 3.0;
  row.model_bytes = 1000;
  ASSERT_OK(UpsertResult(*db_, first->lease, row));
  ASSERT_OK(UpsertLayerResults(*db_, first->lease, "w8a8", {Layer("conv1", "Conv", 30.0)}));
  ConfigOutcome stale;
  stale.config = "w8a8";
  stale.resolved_json = R"({"name": "w8a8"})";
  stale.samples = 64;
  ASSERT_OK(UpsertConfigOutcome(*db_, first->lease, stale));
  ASSERT_OK(RecordExport(*db_, first->lease, "w8a8", {Sha256("onnx"), 10}));
  ASSERT_OK(SetJobEnvironment(*db_, first->lease, R"({"worker": "w1"})"));
  DeviceOutcome on_device;
  on_device.config = "w8a8";
  on_device.device = "workers/w1/devices/ort-cpu";
  ASSERT_OK(UpsertDeviceOutcome(*db_, first->lease, on_device));
  ASSERT_OK(ReleaseJob(*db_, first->lease));  // the worker shut down mid-job

  ASSERT_OK_AND_ASSIGN(auto second, ClaimJob(*db_, "w2", {"cpu"}, {}, absl::Seconds(30)));
  ASSERT_TRUE(second.has_value());
  ASSERT_EQ(second->lease.attempt, 2);
  row.config = "fp32";
  row.device = "workers/w2/devices/cpu0";
  row.batch_size = 1;
  ASSERT_OK(UpsertResult(*db_, second->lease, row));
  ConfigOutcome fresh;
  fresh.config = "fp32";
  fresh.resolved_json = R"({"name": "fp32"})";
  ASSERT_OK(UpsertConfigOutcome(*db_, second->lease, fresh));

  ASSERT_OK_AND_ASSIGN(std::vector<ResultRow> rows, ListResults(*db_, id));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].config, "fp32");
  EXPECT_EQ(rows[0].device, "workers/w2/devices/cpu0");
  ASSERT_OK_AND_ASSIGN(std::vector<ConfigOutcome> outcomes, ListConfigOutcomes(*db_, id));
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].config, "fp32");
  ASSERT_OK_AND_ASSIGN(std::vector<LayerResult> layers, ListLayerResults(*db_, id, "w8a8"));
  EXPECT_TRUE(layers.empty());
  EXPECT_EQ(FindExport(*db_, id, "w8a8").status().code(), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> env, GetJobEnvironment(*db_, id));
  EXPECT_FALSE(env.has_value()) << "the environment is the final attempt's";
  ASSERT_OK_AND_ASSIGN(std::vector<DeviceOutcome> on_devices, ListDeviceOutcomes(*db_, id));
  EXPECT_TRUE(on_devices.empty()) << "device outcomes are the final attempt's";
  ASSERT_OK(CompleteJob(*db_, second->lease));

  pqxx::connection c{cluster_->Uri(db_name_)};
  pqxx::work w{c};
  w.exec("SET ROLE qbench_dashboard");
  auto cmp = w.exec_params("SELECT config, batch_size FROM config_comparison WHERE job_id = $1", id);
  ASSERT_EQ(cmp.size(), 1u);
  EXPECT_EQ(cmp[0][0].as<std::string>(), "fp32");
  EXPECT_EQ(w.exec_params1("SELECT result_rows FROM job_overview WHERE job_id = $1", id)[0].as<int>(), 1);
  EXPECT_EQ(w.exec_params1("SELECT count(*) FROM layer_sensitivity WHERE job_id = $1", id)[0].as<int>(), 0);
  EXPECT_EQ(w.exec_params1("SELECT count(*) FROM pareto WHERE job_id = $1 AND config = 'w8a8'", id)[0].as<int>(), 0);
}

// Per-configuration accuracy (0005): every field comes back exactly as written (values
// that need 17 significant digits), an outcome without figures comes back as NULLs, a
// configuration without any latency row still has its accuracy, and the views give the
// read-only role the delta's interval, p-value, discordant counts and significance.
TEST_F(StoreTest, ConfigOutcomeAccuracyRoundTripsWithNulls) {
  ASSERT_OK(CreateJob(*db_, MakeJob()).status());
  ASSERT_OK_AND_ASSIGN(auto job, ClaimJob(*db_, "w", {"cpu"}, {}, absl::Seconds(30)));
  ASSERT_TRUE(job.has_value());
  const Lease& lease = job->lease;
  ConfigOutcome base;  // the baseline, with no paired delta and no validation split
  base.config = "fp32";
  base.resolved_json = R"({"name": "fp32", "precision": "fp32"})";
  base.samples = 300;
  base.device = "workers/w/devices/cpu0";
  base.top1 = 271.0 / 300;
  base.top1_hits = 271;
  ConfigOutcome o;
  o.config = "w8a8";
  o.resolved_json = R"({"name": "w8a8", "precision": "int8"})";
  o.samples = 300;
  o.device = "workers/w/devices/cpu0";
  o.top1 = 268.0 / 300;
  o.top5 = 0.1 + 0.2;
  o.top1_hits = 268;
  o.top5_hits = 299;
  o.tied_top1 = 7;
  o.agreement = 1.0 / 3;
  o.sqnr_db = 31.415926535897932;
  o.model_bytes = 123457;
  o.vs_baseline = PairedDelta{-0.01, -0.031622776601683791, 0.0070710678118654755, 0.2890625, 5, 2};
  o.delta_interval_method = "Newcombe hybrid score interval (method 10), 95%";
  o.delta_test_method = "exact two-sided McNemar test";
  o.validation = SplitAccuracy{100, 0.93, PairedDelta{0.02, -0.04, 0.08, 1, 0, 0}};
  ASSERT_OK(UpsertConfigOutcome(*db_, lease, base));
  ASSERT_OK(UpsertConfigOutcome(*db_, lease, o));
  ASSERT_OK_AND_ASSIGN(std::vector<ConfigOutcome> got, ListConfigOutcomes(*db_, lease.job_id));
  ASSERT_EQ(got.size(), 2u);
  const ConfigOutcome& b = got[0];
  EXPECT_EQ(b.config, "fp32");
  EXPECT_EQ(b.device, base.device);
  EXPECT_EQ(b.top1, base.top1);
  EXPECT_EQ(b.top1_hits, 271);
  EXPECT_FALSE(b.top5 || b.top5_hits || b.tied_top1 || b.agreement || b.sqnr_db || b.model_bytes);
  EXPECT_FALSE(b.vs_baseline.has_value());
  EXPECT_FALSE(b.validation.has_value());
  EXPECT_EQ(b.delta_interval_method, "");
  const ConfigOutcome& w = got[1];
  EXPECT_EQ(w.config, "w8a8");
  EXPECT_EQ(w.samples, 300);
  // EXPECT_EQ on doubles: the round trip must lose no bit.
  EXPECT_EQ(w.top1, o.top1);
  EXPECT_EQ(w.top5, o.top5);
  EXPECT_EQ(w.top1_hits, 268);
  EXPECT_EQ(w.top5_hits, 299);
  EXPECT_EQ(w.tied_top1, 7);
  EXPECT_EQ(w.agreement, o.agreement);
  EXPECT_EQ(w.sqnr_db, o.sqnr_db);
  EXPECT_EQ(w.model_bytes, 123457);
  ASSERT_TRUE(w.vs_baseline.has_value());
  EXPECT_EQ(w.vs_baseline->delta, o.vs_baseline->delta);
  EXPECT_EQ(w.vs_baseline->ci_low, o.vs_baseline->ci_low);
  EXPECT_EQ(w.vs_baseline->ci_high, o.vs_baseline->ci_high);
  EXPECT_EQ(w.vs_baseline->p_value, o.vs_baseline->p_value);
  EXPECT_EQ(w.vs_baseline->fp32_right_config_wrong, 5);
  EXPECT_EQ(w.vs_baseline->fp32_wrong_config_right, 2);
  EXPECT_EQ(w.delta_interval_method, o.delta_interval_method);
  EXPECT_EQ(w.delta_test_method, o.delta_test_method);
  ASSERT_TRUE(w.validation.has_value());
  EXPECT_EQ(w.validation->samples, 100);
  EXPECT_EQ(w.validation->top1, 0.93);
  ASSERT_TRUE(w.validation->vs_baseline.has_value());
  EXPECT_EQ(w.validation->vs_baseline->delta, 0.02);
  EXPECT_EQ(w.validation->vs_baseline->ci_low, -0.04);
  EXPECT_EQ(w.validation->vs_baseline->ci_high, 0.08);
  EXPECT_TRUE(ListResults(*db_, lease.job_id)->empty()) << "no latency rows, yet the accuracy is there";

  // The evaluation record: a JSON object, not anything else.
  EXPECT_FALSE(GetJobEvaluation(*db_, lease.job_id).value().has_value());
  ASSERT_OK(SetJobEvaluation(*db_, lease, R"({"mode": "holdout", "seed": 18446744073709551615, "test_indices": [0, 2]})"));
  EXPECT_EQ(SetJobEvaluation(*db_, lease, "[1, 2]").code(), absl::StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> evaluation, GetJobEvaluation(*db_, lease.job_id));
  ASSERT_TRUE(evaluation.has_value());
  EXPECT_THAT(*evaluation, ::testing::HasSubstr("18446744073709551615")) << "a uint64 seed survives";
  EXPECT_THAT(*evaluation, ::testing::HasSubstr(R"("test_indices": [0, 2])"));
  Lease stale = lease;
  stale.attempt = 99;
  EXPECT_EQ(SetJobEvaluation(*db_, stale, "{}").code(), absl::StatusCode::kFailedPrecondition);

  ResultRow row;  // a latency row, without figures of its own (written since 0005)
  row.config = "w8a8";
  row.device = o.device;
  row.batch_size = 4;
  row.p50_ms = 1.0;
  ASSERT_OK(UpsertResult(*db_, lease, row));
  ASSERT_OK(CompleteJob(*db_, lease));
  pqxx::connection c{cluster_->Uri(db_name_)};
  pqxx::work tx{c};
  tx.exec("SET ROLE qbench_dashboard");
  auto acc = tx.exec_params(
      "SELECT config, top1, top1_delta, top1_delta_ci_low, top1_delta_ci_high, top1_delta_p, fp32_right_config_wrong, "
      "  fp32_wrong_config_right, significant, tied_top1, validation_top1, evaluation_mode "
      "FROM config_accuracy WHERE job_id = $1 ORDER BY ordinal",
      lease.job_id);
  ASSERT_EQ(acc.size(), 2u);
  EXPECT_EQ(acc[0][0].as<std::string>(), "fp32");
  EXPECT_EQ(acc[0][2].as<double>(), 0.0);
  EXPECT_TRUE(acc[0][8].is_null()) << "the baseline has no significance";
  EXPECT_EQ(acc[1][1].as<double>(), *o.top1);
  EXPECT_EQ(acc[1][2].as<double>(), -0.01);
  EXPECT_EQ(acc[1][3].as<double>(), o.vs_baseline->ci_low);
  EXPECT_EQ(acc[1][4].as<double>(), o.vs_baseline->ci_high);
  EXPECT_EQ(acc[1][5].as<double>(), 0.2890625);
  EXPECT_EQ(acc[1][6].as<int>(), 5);
  EXPECT_EQ(acc[1][7].as<int>(), 2);
  EXPECT_FALSE(acc[1][8].as<bool>()) << "the interval spans 0";
  EXPECT_EQ(acc[1][9].as<int>(), 7);
  EXPECT_EQ(acc[1][10].as<double>(), 0.93);
  EXPECT_EQ(acc[1][11].as<std::string>(), "holdout");
  auto cmp = tx.exec_params(
      "SELECT top1, top1_delta, model_bytes, sqnr_db, tied_top1, top1_delta_ci_low, top1_delta_p, significant, "
      "  fp32_right_config_wrong FROM config_comparison WHERE job_id = $1",
      lease.job_id);
  ASSERT_EQ(cmp.size(), 1u);  // the one latency row, with the configuration's figures
  EXPECT_EQ(cmp[0][0].as<double>(), *o.top1);
  EXPECT_EQ(cmp[0][1].as<double>(), -0.01);
  EXPECT_EQ(cmp[0][2].as<int64_t>(), 123457);
  EXPECT_EQ(cmp[0][3].as<double>(), *o.sqnr_db);
  EXPECT_EQ(cmp[0][4].as<int>(), 7);
  EXPECT_EQ(cmp[0][5].as<double>(), o.vs_baseline->ci_low);
  EXPECT_EQ(cmp[0][6].as<double>(), 0.2890625);
  EXPECT_FALSE(cmp[0][7].as<bool>());
  EXPECT_EQ(cmp[0][8].as<int>(), 5);
}

TEST_F(StoreTest, NewJobNotifiesWorkers) {
  struct Receiver : pqxx::notification_receiver {
    using pqxx::notification_receiver::notification_receiver;
    void operator()(const std::string& payload, int) override { last = payload; }
    std::string last;
  };
  pqxx::connection c{cluster_->Uri(db_name_)};
  Receiver r{c, kQueueChannel};
  ASSERT_OK_AND_ASSIGN(CreateJobResult job, CreateJob(*db_, MakeJob()));
  EXPECT_EQ(c.await_notification(5, 0), 1);
  EXPECT_EQ(r.last, std::to_string(job.job.id));
}

TEST_F(StoreTest, UnreachableDatabaseIsUnavailable) {
  auto db = Db::Connect("postgresql://postgres@127.0.0.1:1/postgres");
  EXPECT_EQ(db.status().code(), absl::StatusCode::kUnavailable) << db.status();
  // A killed backend: the call fails UNAVAILABLE, and the connection recovers later.
  QB_IGNORE_LIBPQXX_LEAKS();
  {
    pqxx::connection admin{cluster_->Uri(db_name_)};
    pqxx::work w{admin};
    w.exec_params("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> "
                  "pg_backend_pid()",
                  db_name_);
    w.commit();
  }
  EXPECT_EQ(db_->Ping().code(), absl::StatusCode::kUnavailable);
  absl::Status s;
  for (int i = 0; i < 5 && !(s = db_->Ping()).ok(); ++i) absl::SleepFor(absl::Milliseconds(50));
  EXPECT_TRUE(s.ok()) << s;
}

TEST_F(StoreTest, ConcurrentMigratorsApplyOnce) {
  ASSERT_OK(cluster_->CreateDatabase("fresh"));
  std::atomic<int> applied{0}, errors{0};
  auto migrate = [&] {
    auto db = Db::Connect(cluster_->Uri("fresh"));
    if (!db.ok()) {
      ++errors;
      return;
    }
    auto r = Migrate(**db, MigrationsDir());
    if (!r.ok()) {
      ++errors;
      return;
    }
    applied += static_cast<int>(r->applied.size());
  };
  std::thread a(migrate), b(migrate);
  a.join();
  b.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(applied.load(), static_cast<int>(LatestMigrations().size()));
}

TEST_F(StoreTest, FailedJobIsNotRetried) {
  ASSERT_OK_AND_ASSIGN(CreateJobResult created, CreateJob(*db_, MakeJob()));
  ASSERT_OK_AND_ASSIGN(auto job, ClaimJob(*db_, "w", {"cpu"}, {}, absl::Seconds(30)));
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(FailJob(*db_, job->lease, "").code(), absl::StatusCode::kInvalidArgument);
  ASSERT_OK(FailJob(*db_, job->lease, "model \"m.onnx\": out of memory in config w8a8"));
  ASSERT_OK_AND_ASSIGN(Job failed, GetJob(*db_, team_, created.job.id));
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_THAT(failed.error.value_or(""), ::testing::HasSubstr("out of memory"));
  ASSERT_OK_AND_ASSIGN(auto none, ClaimJob(*db_, "w", {"cpu"}, {}, absl::Seconds(30)));
  EXPECT_FALSE(none.has_value());
  EXPECT_EQ(CancelJob(*db_, team_, created.job.id).status().code(), absl::StatusCode::kFailedPrecondition);
}

// Issue 17, finding 5: an attempt whose engine crashed goes back to the queue; the last
// attempt fails the job, saying whether every attempt crashed.
TEST_F(StoreTest, CrashedAttemptsAreRetriedThenFailSayingAllCrashed) {
  ASSERT_OK_AND_ASSIGN(CreateJobResult created, CreateJob(*db_, MakeJob()));
  for (int attempt = 1; attempt <= 3; ++attempt) {
    ASSERT_OK_AND_ASSIGN(auto job, ClaimJob(*db_, "w", {"cpu"}, {}, absl::Seconds(30)));
    for (int i = 0; i < 30 && !job; ++i) {  // the retry waits out its 10 ms backoff
      absl::SleepFor(absl::Milliseconds(20));
      ASSERT_OK_AND_ASSIGN(job, ClaimJob(*db_, "w", {"cpu"}, {}, absl::Seconds(30)));
    }
    ASSERT_TRUE(job.has_value()) << "attempt " << attempt;
    EXPECT_EQ(job->lease.attempt, attempt);
    EXPECT_EQ(RetryCrashedAttempt(*db_, job->lease, "").status().code(), absl::StatusCode::kInvalidArgument);
    ASSERT_OK_AND_ASSIGN(std::string state,
                         RetryCrashedAttempt(*db_, job->lease, "signal 11 (SIGSEGV)", absl::Milliseconds(10)));
    EXPECT_EQ(state, attempt < 3 ? "queued" : "failed");
    EXPECT_EQ(RetryCrashedAttempt(*db_, job->lease, "again").status().code(), absl::StatusCode::kFailedPrecondition)
        << "the lease ended with the first call";
  }
  ASSERT_OK_AND_ASSIGN(Job failed, GetJob(*db_, team_, created.job.id));
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_EQ(failed.error.value_or(""),
            "the engine crashed on every one of the job's 3 attempts; the last: signal 11 (SIGSEGV)");
}

TEST_F(StoreTest, LayerResultsUpsert) {
  ASSERT_OK(CreateJob(*db_, MakeJob()).status());
  ASSERT_OK_AND_ASSIGN(auto job, ClaimJob(*db_, "w", {"cpu"}, {}, absl::Seconds(30)));
  ASSERT_TRUE(job.has_value());
  ASSERT_OK(UpsertLayerResults(*db_, job->lease, "w8a8", {Layer("conv1", "Conv", 30.0), Layer("fc", "Gemm", std::nullopt)}));
  ASSERT_OK(UpsertLayerResults(*db_, job->lease, "w8a8", {Layer("conv1", "Conv", 31.5)}));
  ASSERT_OK_AND_ASSIGN(std::vector<LayerResult> layers, ListLayerResults(*db_, job->lease.job_id, "w8a8"));
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_DOUBLE_EQ(layers[0].sqnr_db.value_or(0), 31.5);
  EXPECT_FALSE(layers[1].sqnr_db.has_value());
  EXPECT_EQ(UpsertLayerResults(*db_, job->lease, "nope", {}).code(), absl::StatusCode::kNotFound);
  // Weight rounding (0007): method, seconds and both SQNRs round-trip; nearest by default.
  EXPECT_EQ(layers[1].rounding, "nearest");
  EXPECT_FALSE(layers[1].rounding_sqnr_db.has_value());
  LayerResult g = Layer("conv1", "Conv", 32.0);
  g.rounding = "gptq";
  g.rounding_seconds = 0.25;
  g.rounding_sqnr_db = 29.5;
  g.nearest_sqnr_db = 22.75;
  ASSERT_OK(UpsertLayerResults(*db_, job->lease, "w8a8", {g}));
  ASSERT_OK_AND_ASSIGN(layers, ListLayerResults(*db_, job->lease.job_id, "w8a8"));
  EXPECT_EQ(layers[0].rounding, "gptq");
  EXPECT_DOUBLE_EQ(layers[0].rounding_seconds.value_or(0), 0.25);
  EXPECT_DOUBLE_EQ(layers[0].rounding_sqnr_db.value_or(0), 29.5);
  EXPECT_DOUBLE_EQ(layers[0].nearest_sqnr_db.value_or(0), 22.75);
  pqxx::connection c{cluster_->Uri(db_name_)};
  pqxx::work tx{c};
  auto v = tx.exec_params("SELECT rounding, nearest_sqnr_db FROM layer_sensitivity WHERE job_id = $1 AND layer = 'conv1'",
                          job->lease.job_id);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0][0].as<std::string>(), "gptq");
  EXPECT_DOUBLE_EQ(v[0][1].as<double>(), 22.75);
}

// Search candidates (0008) outlive a new claim, so that the next attempt resumes from
// them; the summary does not. Rows upsert by key; the front is set at the end.
TEST_F(StoreTest, SearchCandidatesSurviveANewAttemptAndMarkTheFront) {
  ASSERT_OK_AND_ASSIGN(CreateJobResult created, CreateJob(*db_, MakeJob()));
  const int64_t id = created.job.id;
  ASSERT_OK_AND_ASSIGN(auto first, ClaimJob(*db_, "w1", {"cpu"}, {}, absl::Seconds(30)));
  ASSERT_TRUE(first.has_value());
  SearchCandidateRow a;
  a.key = "0.0";
  a.hardware = "EPYC avx512_core_vnni x1";
  a.strategy = "uniform";
  a.assignment = {"w8a8", "w8a8"};
  a.samples = 500;
  a.top1 = 0.9;
  a.drop_points = 0.2;
  a.ci_low_points = -0.5;
  a.ci_high_points = 0.1;
  a.timed = true;
  a.latency_ms = 1.5;
  a.batch_size = 64;
  a.model_bytes = 3000;
  a.energy_j = 1e-6;
  a.objective = 0.4;
  a.within_budget = true;
  a.candidate_json = R"({"key": "0.0"})";
  SearchCandidateRow b = a;
  b.key = "1.0";
  b.ordinal = 1;
  b.strategy = "signal";
  b.timed = false;
  b.latency_ms.reset();
  b.objective.reset();
  ASSERT_OK(UpsertSearchCandidate(*db_, first->lease, a));
  ASSERT_OK(UpsertSearchCandidate(*db_, first->lease, b));
  b.top1 = 0.85;  // measured again: one row, the latest figures
  ASSERT_OK(UpsertSearchCandidate(*db_, first->lease, b));
  ASSERT_OK(FinishSearch(*db_, first->lease, R"({"best_key": "0.0"})", {"0.0"}));
  SearchCandidateRow bad = a;
  bad.candidate_json = "[1]";
  EXPECT_EQ(UpsertSearchCandidate(*db_, first->lease, bad).code(), absl::StatusCode::kInvalidArgument);
  bad = a;
  bad.key = "";
  EXPECT_EQ(UpsertSearchCandidate(*db_, first->lease, bad).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FinishSearch(*db_, first->lease, "[]", {}).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_OK(ReleaseJob(*db_, first->lease));  // the worker shut down mid-search
  EXPECT_EQ(UpsertSearchCandidate(*db_, first->lease, a).code(), absl::StatusCode::kFailedPrecondition);

  ASSERT_OK_AND_ASSIGN(auto second, ClaimJob(*db_, "w2", {"cpu"}, {}, absl::Seconds(30)));
  ASSERT_TRUE(second.has_value());
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> summary, GetJobSearch(*db_, id));
  EXPECT_FALSE(summary.has_value()) << "the earlier attempt's summary is cleared";
  ASSERT_OK_AND_ASSIGN(std::vector<SearchCandidateRow> rows, ListSearchCandidates(*db_, id));
  ASSERT_EQ(rows.size(), 2u) << "the candidates are kept for the new attempt";
  EXPECT_EQ(rows[0].key, "0.0");
  EXPECT_EQ(rows[0].worker, "w1");
  EXPECT_EQ(rows[0].attempt, 1);
  EXPECT_TRUE(rows[0].on_front);
  EXPECT_THAT(rows[0].assignment, ::testing::ElementsAre("w8a8", "w8a8"));
  EXPECT_DOUBLE_EQ(rows[0].latency_ms.value_or(0), 1.5);
  EXPECT_EQ(rows[0].candidate_json, R"({"key": "0.0"})");
  EXPECT_FALSE(rows[1].latency_ms.has_value());
  EXPECT_DOUBLE_EQ(rows[1].top1, 0.85);
  EXPECT_FALSE(rows[1].on_front);
  // The second attempt measures "1.0" with its latency and ends with a new front.
  b.timed = true;
  b.latency_ms = 1.0;
  b.objective = 0.3;
  ASSERT_OK(UpsertSearchCandidate(*db_, second->lease, b));
  ASSERT_OK(FinishSearch(*db_, second->lease, R"({"best_key": "1.0"})", {"1.0"}));
  ASSERT_OK_AND_ASSIGN(rows, ListSearchCandidates(*db_, id));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_FALSE(rows[0].on_front);
  EXPECT_EQ(rows[1].attempt, 2);
  EXPECT_TRUE(rows[1].on_front);
  ASSERT_OK_AND_ASSIGN(summary, GetJobSearch(*db_, id));
  EXPECT_THAT(summary.value_or(""), ::testing::HasSubstr("1.0"));
  // The dashboards' view: team, chosen flag.
  pqxx::connection c{cluster_->Uri(db_name_)};
  pqxx::work tx{c};
  auto v = tx.exec_params("SELECT key, chosen, on_front FROM search_front WHERE job_id = $1 ORDER BY key", id);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_FALSE(v[0][1].as<bool>());
  EXPECT_TRUE(v[1][1].as<bool>());
  EXPECT_TRUE(v[1][2].as<bool>());
}

TEST_F(StoreTest, WorkersRegisterAndList) {
  WorkerInfo w{"lab-1", "host1", "EPYC", "avx512_core_vnni", 16, "2.6.3", {"rapl"},
               {{"cpu0", "cpu", R"({"numa": 0})"}, {"cpu1", "cpu", "{}"}}};
  ASSERT_OK(RegisterWorker(*db_, w));
  w.devices.pop_back();
  ASSERT_OK(RegisterWorker(*db_, w));  // re-registration replaces the device list
  ASSERT_OK(WorkerHeartbeat(*db_, "lab-1"));
  EXPECT_EQ(WorkerHeartbeat(*db_, "ghost").code(), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(std::vector<WorkerRecord> list, ListWorkers(*db_, absl::Minutes(1)));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].info.isa, "avx512_core_vnni");
  EXPECT_THAT(list[0].info.energy_meters, ::testing::ElementsAre("rapl"));
  ASSERT_EQ(list[0].info.devices.size(), 1u);
  EXPECT_EQ(list[0].info.devices[0].name, "cpu0");
  WorkerInfo bad = w;
  bad.devices.push_back(bad.devices[0]);
  EXPECT_EQ(RegisterWorker(*db_, bad).code(), absl::StatusCode::kInvalidArgument);
  bad.id = "";
  EXPECT_EQ(RegisterWorker(*db_, bad).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, BlobsDedupAndAssets) {
  const std::string digest = Sha256("model bytes");
  ASSERT_OK_AND_ASSIGN(PutBlobResult first, PutBlob(*db_, {digest, 11, "/blobs/a"}));
  EXPECT_TRUE(first.created);
  ASSERT_OK_AND_ASSIGN(PutBlobResult again, PutBlob(*db_, {digest, 11, "/blobs/b"}));
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.blob.path, "/blobs/a");
  EXPECT_EQ(PutBlob(*db_, {digest, 12, "/blobs/c"}).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(PutBlob(*db_, {"short", 1, "/x"}).status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(auto found, FindBlob(*db_, digest));
  ASSERT_TRUE(found.has_value());
  ASSERT_OK_AND_ASSIGN(auto missing, FindBlob(*db_, Sha256("other")));
  EXPECT_FALSE(missing.has_value());

  Asset model;
  model.team_id = team_;
  model.name = "resnet";
  model.blob_sha256 = digest;
  ASSERT_OK_AND_ASSIGN(int64_t model_id, CreateModel(*db_, model));
  ASSERT_OK_AND_ASSIGN(Asset got, GetModel(*db_, team_, model_id));
  EXPECT_EQ(got.blob_sha256.value_or(""), digest);
  EXPECT_EQ(GetModel(*db_, team_ + 1, model_id).status().code(), absl::StatusCode::kNotFound);
  model.blob_sha256 = Sha256("never uploaded");
  EXPECT_EQ(CreateModel(*db_, model).status().code(), absl::StatusCode::kFailedPrecondition);
  Asset dataset;
  dataset.team_id = team_;
  dataset.name = "fmnist";
  dataset.path = "/lab/fmnist";
  dataset.manifest_json = R"({"format": "idx"})";
  ASSERT_OK_AND_ASSIGN(int64_t dataset_id, CreateDataset(*db_, dataset));
  ASSERT_OK_AND_ASSIGN(Asset ds, GetDataset(*db_, team_, dataset_id));
  EXPECT_EQ(ds.path.value_or(""), "/lab/fmnist");
  EXPECT_FALSE(ds.blob_sha256.has_value());
  dataset.path.reset();
  EXPECT_EQ(CreateDataset(*db_, dataset).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, QueueListenerWakesOnNewJob) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<QueueListener> listener, QueueListener::Create(cluster_->Uri(db_name_)));
  ASSERT_OK_AND_ASSIGN(bool idle, listener->Wait(absl::Milliseconds(100)));
  EXPECT_FALSE(idle);
  ASSERT_OK(CreateJob(*db_, MakeJob()).status());
  const absl::Time start = absl::Now();
  ASSERT_OK_AND_ASSIGN(bool woke, listener->Wait(absl::Seconds(10)));
  EXPECT_TRUE(woke);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));  // woken, not timed out
}

TEST_F(StoreTest, PoolSharesConnectionsAcrossThreads) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DbPool> pool, DbPool::Create(cluster_->Uri(db_name_), 2));
  std::atomic<int> errors{0};
  auto submit = [&] {
    for (int i = 0; i < 10; ++i) {
      if (!pool->Run(&CreateJob, MakeJob()).ok()) ++errors;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(submit);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  ListJobsRequest req;
  req.team_id = team_;
  req.page_size = 100;
  ASSERT_OK_AND_ASSIGN(JobPage page, pool->Run(&ListJobs, req));
  EXPECT_EQ(page.jobs.size(), 40u);
  EXPECT_EQ(DbPool::Create(cluster_->Uri(db_name_), 0).status().code(), absl::StatusCode::kInvalidArgument);
}

// Finding 9 (issue 17): a database error keeps its code, but what a server's caller sees
// through the pool is our words only; the database's text (here PostgreSQL's JSON
// parser on the hand-escaped configuration JSON the server used to build) stays in the
// log. Direct callers (the worker) still get the detail.
TEST_F(StoreTest, PoolKeepsDatabaseTextFromCallers) {
  NewJob bad = MakeJob();
  bad.configs[1].spec_json = R"({"name": "bob\'s w8"})";  // absl::CEscape's output: not JSON
  const absl::Status direct = CreateJob(*db_, bad).status();
  EXPECT_EQ(direct.code(), absl::StatusCode::kInvalidArgument) << direct;
  EXPECT_THAT(std::string(direct.message()), ::testing::HasSubstr("SQLSTATE 22P02")) << "the detail, for logs";
  EXPECT_TRUE(IsDatabaseError(direct));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DbPool> pool, DbPool::Create(cluster_->Uri(db_name_), 1));
  const absl::Status served = pool->Run(&CreateJob, bad).status();
  EXPECT_EQ(served.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(served.message(), "create job: the database rejected a value");
  EXPECT_FALSE(IsDatabaseError(served));
  // Our own errors pass unchanged.
  EXPECT_EQ(pool->Run(&GetJob, team_, 424242).status().message(), GetJob(*db_, team_, 424242).status().message());
  // An unreachable database: UNAVAILABLE without host, port or libpq's words.
  const absl::Status down = WithoutDatabaseText(Db::Connect("postgresql://nobody@127.0.0.1:1/none").status());
  EXPECT_EQ(down.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(down.message(), "connect to database: the database is unavailable, retry later");
}

TEST_F(StoreTest, TokenOwnerCarriesTeamNameAndAdminFlag) {
  ASSERT_OK_AND_ASSIGN(NewToken admin, CreateToken(*db_, team_, "ops", TokenRole::kAdmin));
  ASSERT_OK_AND_ASSIGN(TokenOwner owner, VerifyTokenOwner(*db_, admin.plaintext));
  EXPECT_EQ(owner.team_name, "vision");
  EXPECT_TRUE(owner.admin);
  ASSERT_OK_AND_ASSIGN(int64_t other, CreateTeam(*db_, "speech"));
  ASSERT_OK_AND_ASSIGN(int64_t digest_token, CreateTokenForDigest(*db_, "speech", "ci", TokenRole::kTeam, Sha256("qbt_secret"), std::nullopt));
  ASSERT_OK_AND_ASSIGN(TokenOwner speech, VerifyTokenOwner(*db_, "qbt_secret"));
  EXPECT_EQ(speech.team_id, other);
  EXPECT_FALSE(speech.admin);
  // A team can only revoke its own tokens.
  EXPECT_EQ(RevokeTeamToken(*db_, "vision", digest_token).code(), absl::StatusCode::kNotFound);
  ASSERT_OK(RevokeTeamToken(*db_, "speech", digest_token));
  EXPECT_EQ(VerifyTokenOwner(*db_, "qbt_secret").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CreateTokenForDigest(*db_, "nobody", "x", TokenRole::kTeam, Sha256("y"), std::nullopt).status().code(),
            absl::StatusCode::kNotFound);
}

// Issue 17, finding 11: a token's expire_time was ignored. A token past its expiry is
// refused; one before it is accepted.
TEST_F(StoreTest, ExpiredTokensAreRefused) {
  const int64_t now_us = absl::ToUnixMicros(absl::Now());
  ASSERT_OK(CreateTokenForDigest(*db_, "vision", "past", TokenRole::kTeam, Sha256("qbt_past"), now_us - 1000000).status());
  ASSERT_OK(CreateTokenForDigest(*db_, "vision", "future", TokenRole::kTeam, Sha256("qbt_future"), now_us + 3600000000).status());
  EXPECT_EQ(VerifyTokenOwner(*db_, "qbt_past").status().code(), absl::StatusCode::kUnauthenticated);
  ASSERT_OK_AND_ASSIGN(TokenOwner owner, VerifyTokenOwner(*db_, "qbt_future"));
  EXPECT_EQ(owner.team_name, "vision");
}

TEST_F(StoreTest, JobAssetsNeedOwnedBlobsAndRoundTrip) {
  const std::string sha = Sha256("model bytes");
  NewJob job = MakeJob();
  AssetRef model;
  model.blob_sha256 = sha;
  model.blob_path = "/data/blobs/aa/x";
  job.assets.model = model;
  AssetRef data;
  data.path = "/lab/fashion/dataset.json";
  job.assets.eval_dataset = data;
  AssetRef calib;
  calib.blob_sha256 = Sha256("archive");
  calib.manifest = "dataset.json";
  job.assets.calibration_dataset = calib;
  auto refused = CreateJob(*db_, job);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), ::testing::HasSubstr("model.blob"));
  ASSERT_OK(AddBlobOwner(*db_, team_, sha, 11));
  ASSERT_OK(AddBlobOwner(*db_, team_, sha, 11));  // idempotent
  ASSERT_OK(AddBlobOwner(*db_, team_, Sha256("archive"), 7));
  ASSERT_OK_AND_ASSIGN(bool owns, TeamOwnsBlob(*db_, team_, sha));
  EXPECT_TRUE(owns);
  ASSERT_OK_AND_ASSIGN(int64_t other, CreateTeam(*db_, "speech"));
  ASSERT_OK_AND_ASSIGN(bool other_owns, TeamOwnsBlob(*db_, other, sha));
  EXPECT_FALSE(other_owns);
  ASSERT_OK_AND_ASSIGN(CreateJobResult created, CreateJob(*db_, job));
  ASSERT_OK_AND_ASSIGN(JobAssets assets, GetJobAssets(*db_, created.job.id));
  ASSERT_TRUE(assets.model && assets.eval_dataset && assets.calibration_dataset);
  EXPECT_EQ(*assets.model->blob_sha256, sha);
  EXPECT_EQ(assets.model->blob_size, 11);
  EXPECT_FALSE(assets.model->path.has_value());
  EXPECT_EQ(*assets.eval_dataset->path, "/lab/fashion/dataset.json");
  EXPECT_FALSE(assets.eval_dataset->blob_sha256.has_value());
  EXPECT_EQ(assets.calibration_dataset->manifest, "dataset.json");
  EXPECT_EQ(*assets.calibration_dataset->blob_sha256, Sha256("archive"));

  // What a worker token may read (finding 11): the blobs of jobs a worker holds, only
  // while it holds them.
  ASSERT_OK_AND_ASSIGN(bool queued, BlobOfAHeldJob(*db_, sha));
  EXPECT_FALSE(queued) << "a queued job is nobody's yet";
  ASSERT_OK_AND_ASSIGN(auto claimed, ClaimJob(*db_, "w1", {"cpu"}, {}, absl::Seconds(30)));
  ASSERT_TRUE(claimed.has_value());
  ASSERT_OK_AND_ASSIGN(bool model_held, BlobOfAHeldJob(*db_, sha));
  ASSERT_OK_AND_ASSIGN(bool archive_held, BlobOfAHeldJob(*db_, Sha256("archive")));
  ASSERT_OK_AND_ASSIGN(bool other_held, BlobOfAHeldJob(*db_, Sha256("something else")));
  EXPECT_TRUE(model_held);
  EXPECT_TRUE(archive_held);
  EXPECT_FALSE(other_held);
  ASSERT_OK(CompleteJob(*db_, claimed->lease));
  ASSERT_OK_AND_ASSIGN(bool after, BlobOfAHeldJob(*db_, sha));
  EXPECT_FALSE(after);
}

TEST_F(StoreTest, WorkerTokensCarryTheirRoleAndAreNeverAdmin) {
  ASSERT_OK(CreateTokenForDigest(*db_, "vision", "w", TokenRole::kWorker, Sha256("qbt_w"), std::nullopt).status());
  ASSERT_OK_AND_ASSIGN(TokenOwner w, VerifyTokenOwner(*db_, "qbt_w"));
  EXPECT_TRUE(w.worker);
  EXPECT_FALSE(w.admin);
  ASSERT_OK_AND_ASSIGN(TokenOwner admin, VerifyTokenOwner(*db_, CreateToken(*db_, team_, "a", TokenRole::kAdmin)->plaintext));
  EXPECT_FALSE(admin.worker);
  pqxx::connection c{cluster_->Uri(db_name_)};
  pqxx::work tx{c};
  EXPECT_THROW(tx.exec("UPDATE tokens SET worker = true WHERE admin"), pqxx::check_violation);
}

TEST_F(StoreTest, ProgressOutcomesExportsAndEnvironment) {
  ASSERT_OK(CreateJob(*db_, MakeJob()).status());
  ASSERT_OK_AND_ASSIGN(auto job, ClaimJob(*db_, "w", {"cpu"}, {}, absl::Seconds(30)));
  ASSERT_TRUE(job.has_value());
  const Lease& lease = job->lease;
  ASSERT_OK(ReportProgress(*db_, lease, {"fp32", "evaluating", 64, 256}));
  ASSERT_OK(ReportProgress(*db_, lease, {"fp32", "benchmarking", 1, 2}));
  ASSERT_OK(ReportProgress(*db_, lease, {"w8a8", "calibrating", 0, 128}));
  EXPECT_EQ(ReportProgress(*db_, lease, {"fp32", "dreaming", 0, 1}).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(std::vector<Progress> progress, CurrentProgress(*db_, lease.job_id));
  ASSERT_EQ(progress.size(), 2u);
  EXPECT_EQ(progress[0].config, "fp32");
  EXPECT_EQ(progress[0].stage, "benchmarking");
  EXPECT_EQ(progress[1].config, "w8a8");
  EXPECT_EQ(progress[1].total, 128);
  ASSERT_OK_AND_ASSIGN(Job j, GetJob(*db_, team_, lease.job_id));
  EXPECT_EQ(j.stage, "calibrating");

  ConfigOutcome o;
  o.config = "w8a8";
  o.resolved_json = R"({"weights": {"bits": 8}})";
  o.notes = {"biases on the int32 grid", "a note with \"quotes\", and a comma"};
  o.samples = 256;
  o.params_sha256 = "abc";
  ASSERT_OK(UpsertConfigOutcome(*db_, lease, o));
  o.config = "nope";
  EXPECT_EQ(UpsertConfigOutcome(*db_, lease, o).code(), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(std::vector<ConfigOutcome> outcomes, ListConfigOutcomes(*db_, lease.job_id));
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].config, "w8a8");
  EXPECT_EQ(outcomes[0].notes.size(), 2u);
  EXPECT_EQ(outcomes[0].notes[1], "a note with \"quotes\", and a comma");
  EXPECT_EQ(outcomes[0].samples, 256);
  ASSERT_OK_AND_ASSIGN(std::vector<JobEvent> events, ListJobEvents(*db_, lease.job_id));
  EXPECT_EQ(events.back().kind, "result");
  EXPECT_EQ(events.back().config, "w8a8");

  EXPECT_EQ(FindExport(*db_, lease.job_id, "w8a8").status().code(), absl::StatusCode::kNotFound);
  ASSERT_OK(RecordExport(*db_, lease, "w8a8", {Sha256("onnx"), 1234}));
  ASSERT_OK_AND_ASSIGN(ExportRef e, FindExport(*db_, lease.job_id, "w8a8"));
  EXPECT_EQ(e.sha256, Sha256("onnx"));
  EXPECT_EQ(e.size, 1234);
  ASSERT_OK(SetJobEnvironment(*db_, lease, R"({"onednn": "2.6.3"})"));
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> env, GetJobEnvironment(*db_, lease.job_id));
  ASSERT_TRUE(env.has_value());
  EXPECT_THAT(*env, ::testing::HasSubstr("2.6.3"));

  // Once the lease is lost, every write is refused.
  Lease stale = lease;
  stale.attempt = 99;
  EXPECT_EQ(ReportProgress(*db_, stale, {"fp32", "evaluating", 1, 2}).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(RecordExport(*db_, stale, "w8a8", {Sha256("x"), 1}).code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace qbench::store
