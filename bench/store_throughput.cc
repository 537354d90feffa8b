// qbench-store-throughput: how fast one PostgreSQL moves QBench's queue and results, through
// the store API the server and workers use (server/store/), for docs/scaling.md.
//   create:  jobs/s submitted (CreateJob: a job row, two configurations, a state event)
//   queue:   jobs/s through ClaimJob + CompleteJob (FOR UPDATE SKIP LOCKED) with N claimers
//   results: result rows/s through UpsertResult (new keys, so inserts) with N writers,
//            each on its own claimed job
// Each run uses a fresh migrated database; each figure is the median of --runs runs.
// Without --db a throwaway cluster (tests/pg_test_util.h) is started: it runs with
// fsync=off and synchronous_commit=off, an upper bound. With --db URI (a superuser
// connection to an existing server) the server's own durability settings apply; the
// bench creates and drops its databases there.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include <unistd.h>

#include <pqxx/pqxx>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/flags.h"
#include "server/store/db.h"
#include "server/store/jobs.h"
#include "server/store/migrate.h"
#include "server/store/queue.h"
#include "server/store/results.h"
#include "server/store/teams.h"
#include "tests/pg_test_util.h"

namespace qbench {
namespace {

constexpr FlagSpec kFlags[] = {
    {"--db", "URI", "an existing server (superuser; databases are created and dropped there)"},
    {"--migrations", "DIR", "the migrations (default ./migrations)"},
    {"--threads", "N,N,..", "concurrent claimers/writers per measurement (default 1,4,16)"},
    {"--jobs", "N", "jobs per queue run (default 2000)"},
    {"--rows", "N", "result rows per results run (default 4000)"},
    {"--runs", "N", "runs per figure; the median is printed (default 3)"},
    {"--help", nullptr, "this help"},
};

struct Options {
  std::string db, migrations = "migrations";
  std::vector<int> threads = {1, 4, 16};
  int jobs = 2000, rows = 4000, runs = 3;
};

#define BENCH_CHECK(expr)                                                                          \
  do {                                                                                             \
    const absl::Status s_ = (expr);                                                                \
    if (!s_.ok()) {                                                                                \
      std::fprintf(stderr, "qbench-store-throughput: %s: %s\n", #expr, std::string(s_.message()).c_str()); \
      std::exit(1);                                                                                \
    }                                                                                              \
  } while (0)

template <typename T>
T Value(absl::StatusOr<T> v) {
  BENCH_CHECK(v.status());
  return *std::move(v);
}

// Fresh, migrated databases, on the throwaway cluster or on --db.
class Databases {
 public:
  explicit Databases(const Options& o) : o_(o) {
    if (o.db.empty()) cluster_ = Value(testing::PgTestCluster::Start());
  }
  ~Databases() {
    if (cluster_ || o_.db.empty()) return;
    pqxx::connection c{o_.db};
    for (const std::string& name : made_) pqxx::nontransaction(c).exec("DROP DATABASE IF EXISTS " + c.quote_name(name));
  }
  // A new database with the schema and one team; returns its URI.
  std::string Fresh(int64_t* team) {
    const std::string name = absl::StrCat("qbench_bench_", getpid(), "_", made_.size());
    std::string uri;
    if (cluster_) {
      BENCH_CHECK(cluster_->CreateDatabase(name));
      uri = cluster_->Uri(name);
    } else {
      pqxx::connection c{o_.db};
      pqxx::nontransaction(c).exec("CREATE DATABASE " + c.quote_name(name));
      uri = absl::StrCat(o_.db.substr(0, o_.db.rfind('/') + 1), name);  // same server, other database
    }
    made_.push_back(name);
    auto db = Value(store::Db::Connect(uri));
    BENCH_CHECK(store::Migrate(*db, o_.migrations).status());
    *team = Value(store::CreateTeam(*db, "bench"));
    return uri;
  }

 private:
  const Options& o_;
  std::unique_ptr<testing::PgTestCluster> cluster_;
  std::vector<std::string> made_;
};

store::NewJob TrivialJob(int64_t team) {
  store::NewJob job;
  job.team_id = team;
  job.spec_json = R"({"samples": 64, "configs": ["fp32", "w8a8"]})";
  job.configs = {{"fp32", "{}", true}, {"w8a8", "{}", false}};
  return job;
}

// Runs body(thread index, its own Db) on n threads; returns the wall time in seconds.
template <typename Body>
double OnThreads(const std::string& uri, int n, Body body) {
  std::vector<std::unique_ptr<store::Db>> dbs;
  for (int i = 0; i < n; ++i) dbs.push_back(Value(store::Db::Connect(uri)));
  const absl::Time t0 = absl::Now();
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) threads.emplace_back([&, i] { body(i, *dbs[i]); });
  for (std::thread& t : threads) t.join();
  return absl::ToDoubleSeconds(absl::Now() - t0);
}

struct Rates {
  double create = 0, queue = 0, results = 0;  // jobs/s, jobs/s, rows/s
};

Rates OneRun(Databases& dbs, const Options& o, int n) {
  Rates r;
  int64_t team = 0;
  const std::string uri = dbs.Fresh(&team);
  std::atomic<int> next{0};
  // Submissions, n at a time.
  double s = OnThreads(uri, n, [&](int, store::Db& db) {
    while (next.fetch_add(1) < o.jobs) BENCH_CHECK(store::CreateJob(db, TrivialJob(team)).status());
  });
  r.create = o.jobs / s;
  // The queue: claim and complete until nothing is claimable.
  std::atomic<int> done{0};
  s = OnThreads(uri, n, [&](int i, store::Db& db) {
    const std::string worker = absl::StrCat("bench-", i);
    for (;;) {
      auto job = Value(store::ClaimJob(db, worker, {"cpu"}, {}, absl::Minutes(5)));
      if (!job) return;
      BENCH_CHECK(store::CompleteJob(db, job->lease));
      ++done;
    }
  });
  if (done.load() != o.jobs) std::fprintf(stderr, "warning: %d of %d jobs completed\n", done.load(), o.jobs);
  r.queue = done.load() / s;
  // Results: each writer claims a job of its own, then upserts rows under that lease.
  std::vector<store::Lease> leases;
  {
    auto db = Value(store::Db::Connect(uri));
    for (int i = 0; i < n; ++i) {
      BENCH_CHECK(store::CreateJob(*db, TrivialJob(team)).status());
      auto job = Value(store::ClaimJob(*db, absl::StrCat("writer-", i), {"cpu"}, {}, absl::Minutes(5)));
      leases.push_back(job->lease);
    }
  }
  next = 0;
  s = OnThreads(uri, n, [&](int i, store::Db& db) {
    for (int k; (k = next.fetch_add(1)) < o.rows;) {
      store::ResultRow row;
      row.config = k % 2 ? "w8a8" : "fp32";
      row.device = "workers/bench/devices/cpu0";
      row.batch_size = k + 1;  // a new key each time: an insert
      row.top1 = 0.9, row.top5 = 0.99, row.agreement = 0.98, row.sqnr_db = 30;
      row.model_bytes = 1 << 20, row.p50_ms = 1.5, row.p99_ms = 2.0, row.throughput = 600;
      row.energy_j = 0.01, row.energy_source = "estimated", row.iterations = 200;
      BENCH_CHECK(store::UpsertResult(db, leases[i], row));
    }
  });
  r.results = o.rows / s;
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int Main(int argc, char** argv) {
  auto flags = ParseFlags(argc, argv, kFlags);
  if (!flags.ok()) {
    std::fprintf(stderr, "%s\n%s", std::string(flags.status().message()).c_str(), FlagHelp(kFlags).c_str());
    return 2;
  }
  Options o;
  for (const auto& [name, value] : *flags) {
    if (name == "--help") return std::printf("usage: qbench-store-throughput [flags]\n%s", FlagHelp(kFlags).c_str()), 0;
    if (name == "--db") o.db = value;
    if (name == "--migrations") o.migrations = value;
    if (name == "--jobs") o.jobs = static_cast<int>(Value(FlagInt(name, value, 1)));
    if (name == "--rows") o.rows = static_cast<int>(Value(FlagInt(name, value, 1)));
    if (name == "--runs") o.runs = static_cast<int>(Value(FlagInt(name, value, 1)));
    if (name == "--threads") {
      o.threads.clear();
      for (absl::string_view t : absl::StrSplit(value, ','))
        o.threads.push_back(static_cast<int>(Value(FlagInt(name, std::string(t), 1))));
    }
  }
  Databases dbs(o);
  std::printf("# %s; %d jobs, %d rows per run; median of %d runs\n",
              o.db.empty() ? "throwaway cluster (fsync=off, synchronous_commit=off)" : "--db server", o.jobs, o.rows,
              o.runs);
  std::printf("%8s %14s %18s %16s\n", "threads", "create jobs/s", "claim+done jobs/s", "result rows/s");
  for (int n : o.threads) {
    std::vector<double> create, queue, results;
    for (int run = 0; run < o.runs; ++run) {
      const Rates r = OneRun(dbs, o, n);
      create.push_back(r.create), queue.push_back(r.queue), results.push_back(r.results);
    }
    std::printf("%8d %14.0f %18.0f %16.0f\n", n, Median(create), Median(queue), Median(results));
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace qbench

int main(int argc, char** argv) { return qbench::Main(argc, argv); }
