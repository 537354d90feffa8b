// The worker daemon against a throwaway PostgreSQL 15 cluster (tests/pg_test_util.h),
// in-process (RunDaemon on threads), with shared-path assets so no server is needed:
// the Fashion-MNIST CNN of models/fashion_mnist and its test/train manifests. Jobs run in
// engine child processes (the real qbench-worker binary in --engine-child mode), as in
// production, unless a test says otherwise.
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <signal.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/dataset_archive.h"
#include "common/sha256.h"
#include "server/store/blobs.h"
#include "server/store/db.h"
#include "server/store/jobs.h"
#include "server/store/migrate.h"
#include "server/store/outcomes.h"
#include "server/store/queue.h"
#include "server/store/results.h"
#include "server/store/teams.h"
#include "server/store/workers.h"
#include "tests/pg_test_util.h"
#include "engine/kernels/onednn/int8_util.h"
#include "worker/daemon/daemon.h"
#include "worker/daemon/local_spec.h"
#include "worker/daemon/options.h"

namespace qbench::worker {
namespace {

using ::testing::HasSubstr;

#define ASSERT_OK(expr)                                           \
  do {                                                            \
    const absl::Status qb_s_ = (expr);                            \
    ASSERT_TRUE(qb_s_.ok()) << #expr << ": " << qb_s_.ToString(); \
  } while (0)
#define QB_TEST_CONCAT_(a, b) a##b
#define QB_TEST_CONCAT(a, b) QB_TEST_CONCAT_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr)                                                                     \
  auto QB_TEST_CONCAT(sor_, __LINE__) = (expr);                                                             \
  ASSERT_TRUE(QB_TEST_CONCAT(sor_, __LINE__).ok()) << #expr << ": "                                         \
                                                   << QB_TEST_CONCAT(sor_, __LINE__).status().ToString(); \
  lhs = std::move(QB_TEST_CONCAT(sor_, __LINE__)).value()

std::string SourceDir() {
  const char* src = std::getenv("QB_SOURCE_DIR");
  return src && *src ? src : QB_SOURCE_DIR_DEFAULT;
}
std::string ModelsDir() { return SourceDir() + "/models/fashion_mnist"; }

// Each job in a child process of the real worker binary; a 1 GiB engine budget.
JobLimits Isolated() {
  JobLimits l;
  l.engine_binary = QB_WORKER_BINARY;
  l.memory_bytes = int64_t{1} << 30;
  l.grace = absl::Seconds(5);
  return l;
}

// The issue's hostile model for Fashion-MNIST inputs: X [N, 1, 28, 28] -> Conv (10
// filters 3x3, pads 40000 on every side) -> GlobalAveragePool -> Flatten -> [N, 10].
// Its Conv output would be N x 10 x 80026 x 80026 floats.
std::string WriteHostileModel(const std::string& path) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("hostile");
  auto* x = g->add_input();
  x->set_name("X");
  auto* xt = x->mutable_type()->mutable_tensor_type();
  xt->set_elem_type(onnx::TensorProto::FLOAT);
  xt->mutable_shape()->add_dim()->set_dim_param("N");
  for (int64_t d : {1, 28, 28}) xt->mutable_shape()->add_dim()->set_dim_value(d);
  onnx::TensorProto* w = g->add_initializer();
  w->set_name("W");
  w->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : {10, 1, 3, 3}) w->add_dims(d);
  for (int i = 0; i < 90; ++i) w->add_float_data(0.01f * static_cast<float>(i % 7));
  auto add = [&](const char* op, const char* name, std::vector<std::string> in, const char* out) {
    onnx::NodeProto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const std::string& i : in) n->add_input(i);
    n->add_output(out);
    return n;
  };
  onnx::AttributeProto* pads = add("Conv", "conv_pads_40000", {"X", "W"}, "C")->add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  for (int i = 0; i < 4; ++i) pads->add_ints(40000);
  add("GlobalAveragePool", "gap", {"C"}, "P");
  add("Flatten", "flatten", {"P"}, "Y");
  g->add_output()->set_name("Y");
  std::ofstream(path, std::ios::binary) << m.SerializeAsString();
  return path;
}

// The engine child processes of this process (their pids).
std::vector<pid_t> EngineChildren() {
  std::vector<pid_t> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid != getpid() || state == "Z") continue;
    std::ifstream cmd(e.path() / "cmdline");
    std::string args((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
    if (args.find("--engine-child") != std::string::npos) out.push_back(std::stoi(name));
  }
  return out;
}

// This process's resident set (VmRSS), bytes.
int64_t RssBytes() {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  return 0;
}

// A small job: 256 eval samples, 128 calibration samples, short latency loops.
constexpr char kSmallSpec[] = R"({
  "name": "daemon-test", "samples": 256, "batch_sizes": [1, 8], "threads": 1, "eval_batch_size": 64,
  "latency": {"warmup_iters": 1, "warmup_seconds": 0, "min_iters": 5, "min_seconds": 0.05},
  "calibration": {"samples": 128}, "configs": ["fp32", "w8a8"], "sensitivity": false,
  "sqnr_samples": 64, "profile_iters": 0})";

// Slower: the whole test set and 1 s latency loops at three batch sizes (a few seconds
// per configuration), so it can be cancelled or stopped while it runs.
constexpr char kLongSpec[] = R"({
  "name": "daemon-test-long", "samples": 0, "batch_sizes": [1, 8, 32], "threads": 1,
  "latency": {"warmup_iters": 1, "warmup_seconds": 0, "min_iters": 5, "min_seconds": 1.0},
  "calibration": {"samples": 512}, "configs": ["fp32", "w8a8"], "sensitivity": true, "profile_iters": 0})";

// A few seconds in all: long enough to restart PostgreSQL under it.
constexpr char kMediumSpec[] = R"({
  "samples": 2000, "batch_sizes": [1, 8], "threads": 1,
  "latency": {"warmup_iters": 1, "warmup_seconds": 0, "min_iters": 5, "min_seconds": 1.0},
  "calibration": {"samples": 256}, "configs": ["fp32", "w8a8"], "sensitivity": false, "profile_iters": 0})";

// Tiny: FP32 only, 64 samples, one batch size.
constexpr char kTinySpec[] = R"({
  "samples": 64, "batch_sizes": [1], "threads": 1,
  "latency": {"warmup_iters": 1, "warmup_seconds": 0, "min_iters": 3, "min_seconds": 0.01},
  "configs": ["fp32"], "profile_iters": 0})";

store::AssetRef PathAsset(const std::string& path) {
  store::AssetRef a;
  a.path = path;
  return a;
}

class WorkerDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Never skip: a missing PostgreSQL fails every test here with the reason.
    auto pg = qbench::testing::SharedPgCluster();
    ASSERT_TRUE(pg.ok()) << "PostgreSQL cluster did not start: " << pg.status();
    cluster_ = *pg;
    static int counter = 0;
    db_name_ = absl::StrCat("w", ++counter);
    ASSERT_OK(cluster_->CreateDatabase(db_name_));
    ASSERT_OK_AND_ASSIGN(db_, store::Db::Connect(cluster_->Uri(db_name_)));
    ASSERT_OK(store::Migrate(*db_, SourceDir() + "/migrations").status());
    ASSERT_OK_AND_ASSIGN(team_, store::CreateTeam(*db_, "vision"));
    cache_dir_ = (std::filesystem::path(cluster_->dir()) / absl::StrCat("cache-", db_name_)).string();
    shared_dir_ = (std::filesystem::path(cluster_->dir()) / "shared").string();
    std::filesystem::create_directories(shared_dir_);
  }

  DaemonOptions Options(const std::string& id) const {
    DaemonOptions o;
    o.db_uri = cluster_->Uri(db_name_);
    o.id = id;
    o.cache_dir = cache_dir_;
    o.lease = absl::Seconds(3);  // heartbeat every second
    o.poll = absl::Milliseconds(500);
    o.db_retry = absl::Seconds(10);
    // Shared paths only under the project's models, Debian's datasets and the test's own
    // folder (--shared-root; without roots a worker refuses every shared path).
    o.shared_roots = {SourceDir() + "/models", shared_dir_};
    if (std::filesystem::is_directory("/usr/share/datasets")) o.shared_roots.push_back("/usr/share/datasets");
    return o;
  }

  // A job on the Fashion-MNIST CNN with shared-path assets.
  int64_t Submit(const std::string& spec, const std::string& model = "") {
    store::NewJob job;
    job.team_id = team_;
    job.spec_json = spec;
    job.assets.model = PathAsset(model.empty() ? ModelsDir() + "/cnn_bn.onnx" : model);
    job.assets.eval_dataset = PathAsset(ModelsDir() + "/dataset.json");
    const bool int8 = spec.find("w8a8") != std::string::npos;
    // FP32-only jobs have no calibration set (GetJobAssets must cope with the NULL).
    if (int8) job.assets.calibration_dataset = PathAsset(ModelsDir() + "/train_dataset.json");
    job.configs = {{"fp32", "{}", true}};
    if (int8) job.configs.push_back({"w8a8", "{}", false});
    auto created = store::CreateJob(*db_, job);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->job.id : 0;
  }

  store::Job GetJob(int64_t id) {
    auto job = store::GetJob(*db_, team_, id);
    EXPECT_TRUE(job.ok()) << job.status();
    return job.ok() ? *job : store::Job{};
  }

  std::vector<store::JobEvent> Events(int64_t id) {
    auto events = store::ListJobEvents(*db_, id);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *events : std::vector<store::JobEvent>{};
  }

  // Polls `done` every 50 ms until it holds or `timeout` passes.
  static bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return done();
  }

  qbench::testing::PgTestCluster* cluster_ = nullptr;  // owned by SharedPgCluster
  std::string db_name_, cache_dir_, shared_dir_;
  std::unique_ptr<store::Db> db_;
  int64_t team_ = 0;
};

// A daemon on its own thread until Stop().
class DaemonThread {
 public:
  explicit DaemonThread(DaemonOptions options, JobLimits limits = Isolated())
      : options_(std::move(options)),
        limits_(std::move(limits)),
        thread_([this] { status_ = RunDaemon(options_, limits_, stop_); }) {}
  ~DaemonThread() { (void)Stop(); }
  absl::Status Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    return status_;
  }

 private:
  const DaemonOptions options_;
  const JobLimits limits_;
  std::atomic<bool> stop_{false};
  absl::Status status_;
  std::thread thread_;
};

TEST_F(WorkerDaemonTest, RunsAJobToSuccessAndRecordsEverything) {
  const int64_t id = Submit(kSmallSpec);
  DaemonOptions o = Options("w1");
  o.once = true;
  std::atomic<bool> stop{false};
  const absl::Time t0 = absl::Now();
  ASSERT_OK(RunDaemon(o, Isolated(), stop));
  std::printf("small job ran in %.1f s\n", absl::ToDoubleSeconds(absl::Now() - t0));

  const store::Job job = GetJob(id);
  EXPECT_EQ(job.state, store::JobState::kSucceeded) << job.error.value_or("");
  EXPECT_EQ(job.attempts, 1);
  EXPECT_EQ(job.worker.value_or(""), "w1");

  ASSERT_OK_AND_ASSIGN(std::vector<store::ResultRow> rows, store::ListResults(*db_, id));
  ASSERT_EQ(rows.size(), 4u);  // 2 configs x 2 batch sizes
  std::set<std::pair<std::string, int>> keys;
  for (const store::ResultRow& r : rows) {
    keys.insert({r.config, r.batch_size});
    EXPECT_EQ(r.device, "workers/w1/devices/cpu0");
    ASSERT_TRUE(r.top1 && r.top5 && r.agreement && r.p50_ms && r.p99_ms && r.throughput && r.iterations);
    EXPECT_GT(*r.p50_ms, 0);
    EXPECT_GE(*r.p99_ms, *r.p50_ms);
    EXPECT_GT(*r.throughput, 0);
    EXPECT_GE(*r.iterations, 5);
    // The latency detail travels with the row, consistent with p50/p99.
    ASSERT_TRUE(r.p90_ms && r.p999_ms && r.min_ms && r.max_ms && r.mean_ms && r.median_ci_low_ms &&
                r.median_ci_high_ms && r.latency_sessions && r.latency_method);
    EXPECT_LE(*r.min_ms, *r.p50_ms);
    EXPECT_LE(*r.p50_ms, *r.p90_ms);
    EXPECT_LE(*r.p90_ms, *r.p99_ms);
    EXPECT_LE(*r.p99_ms, *r.p999_ms);
    EXPECT_LE(*r.p999_ms, *r.max_ms);
    EXPECT_LE(*r.min_ms, *r.mean_ms);
    EXPECT_LE(*r.mean_ms, *r.max_ms);
    EXPECT_LE(*r.median_ci_low_ms, *r.p50_ms);
    EXPECT_GE(*r.median_ci_high_ms, *r.p50_ms);
    EXPECT_GE(*r.latency_sessions, 1);
    EXPECT_FALSE(r.latency_method->empty());
    ASSERT_FALSE(r.latency_samples_ms.empty());
    EXPECT_LE(static_cast<int64_t>(r.latency_samples_ms.size()), *r.iterations);
    for (double ms : r.latency_samples_ms) {
      EXPECT_GE(ms, *r.min_ms);
      EXPECT_LE(ms, *r.max_ms);
    }
    EXPECT_GT(r.model_bytes.value_or(0), 0);
    ASSERT_TRUE(r.energy_j && r.energy_source && r.energy_meter);
    EXPECT_GT(*r.energy_j, 0);
    EXPECT_THAT(*r.energy_source, ::testing::AnyOf("rapl", "estimated"));
    if (r.config == "fp32") {
      EXPECT_GT(*r.top1, 0.8);
      EXPECT_FALSE(r.sqnr_db.has_value());
    } else {
      EXPECT_GT(*r.agreement, 0.9);
      ASSERT_TRUE(r.sqnr_db.has_value());
      EXPECT_GT(*r.sqnr_db, 10);
    }
  }
  EXPECT_EQ(keys.size(), 4u);
  EXPECT_LT(rows[2].model_bytes.value_or(0), rows[0].model_bytes.value_or(0));  // int8 is smaller

  ASSERT_OK_AND_ASSIGN(std::vector<store::LayerResult> layers, store::ListLayerResults(*db_, id, "w8a8"));
  ASSERT_FALSE(layers.empty());
  int quantized = 0;
  for (const store::LayerResult& l : layers) {
    if (!l.quantized) continue;
    ++quantized;
    // w8a8's weights, or 7 bits on a CPU whose int8 kernels have no VNNI (pipeline.cc).
    EXPECT_EQ(l.weight_bits.value_or(0), Int8ExactWeightBits());
    EXPECT_EQ(l.activation_bits.value_or(0), 8);
  }
  EXPECT_GT(quantized, 0);

  ASSERT_OK_AND_ASSIGN(std::vector<store::ConfigOutcome> outcomes, store::ListConfigOutcomes(*db_, id));
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[0].config, "fp32");
  EXPECT_EQ(outcomes[1].config, "w8a8");
  for (const store::ConfigOutcome& o : outcomes) {
    EXPECT_TRUE(o.error.empty()) << o.error;
    EXPECT_EQ(o.samples, 256);
    EXPECT_EQ(nlohmann::json::parse(o.resolved_json).value("name", ""), o.config);
  }
  EXPECT_EQ(outcomes[1].params_sha256.size(), 64u);
  EXPECT_EQ(outcomes[1].calibration_sha256.size(), 64u);

  int progress = 0, results = 0;
  std::set<std::string> stages;
  for (const store::JobEvent& e : Events(id)) {
    if (e.kind == "progress" && e.config) {
      ++progress;
      stages.insert(e.stage.value_or(""));
      EXPECT_TRUE(e.done && e.total && *e.done <= *e.total);
    }
    if (e.kind == "result") ++results;
  }
  EXPECT_GT(progress, 4);
  EXPECT_EQ(results, 2);
  EXPECT_THAT(stages, ::testing::IsSupersetOf({"calibrating", "quantizing", "evaluating", "benchmarking"}));

  ASSERT_OK_AND_ASSIGN(std::optional<std::string> env, store::GetJobEnvironment(*db_, id));
  ASSERT_TRUE(env.has_value());
  const nlohmann::json ej = nlohmann::json::parse(*env);
  EXPECT_EQ(ej.value("worker", ""), "w1");
  EXPECT_FALSE(ej.value("onednn_version", "").empty());
  EXPECT_TRUE(ej.contains("git_revision") && ej.contains("governor") && ej.contains("peak_rss_bytes"));
  EXPECT_NE(ej.value("pinning", ""), "") << "thread binding is recorded";

  ASSERT_OK_AND_ASSIGN(std::vector<store::WorkerRecord> workers, store::ListWorkers(*db_, absl::Minutes(1)));
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_EQ(workers[0].info.id, "w1");
  ASSERT_EQ(workers[0].info.devices.size(), 1u);
  EXPECT_EQ(workers[0].info.devices[0].name, "cpu0");
  EXPECT_EQ(workers[0].info.devices[0].device_class, "cpu");
  EXPECT_FALSE(workers[0].info.isa.empty());
}

TEST_F(WorkerDaemonTest, MissingModelFailsTheJobAndTheWorkerGoesOn) {
  const std::string missing = "/nonexistent/qbench/missing_model.onnx";
  const int64_t bad = Submit(kTinySpec, missing);
  const int64_t good = Submit(kTinySpec);
  DaemonOptions o = Options("w1");
  o.max_jobs = 2;
  std::atomic<bool> stop{false};
  ASSERT_OK(RunDaemon(o, Isolated(), stop));

  const store::Job failed = GetJob(bad);
  EXPECT_EQ(failed.state, store::JobState::kFailed);
  // The reason names the field, never the path (issue 17, finding 2).
  EXPECT_THAT(failed.error.value_or(""), HasSubstr("model"));
  EXPECT_THAT(failed.error.value_or(""), ::testing::Not(HasSubstr(missing)));
  EXPECT_EQ(failed.attempts, 1);
  EXPECT_EQ(GetJob(good).state, store::JobState::kSucceeded) << GetJob(good).error.value_or("");
  ASSERT_OK_AND_ASSIGN(std::vector<store::ResultRow> rows, store::ListResults(*db_, good));
  EXPECT_EQ(rows.size(), 1u);
}

TEST_F(WorkerDaemonTest, CancelWhileRunningStopsWithinSeconds) {
  const int64_t id = Submit(kLongSpec);
  DaemonThread daemon(Options("w1"));
  auto has_progress = [&] {
    for (const store::JobEvent& e : Events(id))
      if (e.kind == "progress" && e.config) return true;
    return false;
  };
  ASSERT_TRUE(WaitFor(has_progress, absl::Seconds(60)));
  ASSERT_OK(store::CancelJob(*db_, team_, id).status());
  const absl::Time t0 = absl::Now();
  const bool cancelled = WaitFor([&] { return GetJob(id).state == store::JobState::kCancelled; }, absl::Seconds(15));
  const double seconds = absl::ToDoubleSeconds(absl::Now() - t0);
  std::printf("cancelled %.2f s after CancelJob\n", seconds);
  EXPECT_TRUE(cancelled) << "state " << store::JobStateName(GetJob(id).state);
  EXPECT_LT(seconds, 5.0);
  ASSERT_OK(daemon.Stop());
  EXPECT_EQ(GetJob(id).attempts, 1);
}

// Another party took the job back (here: an operator marked it failed): the worker's
// next heartbeat or write gets FAILED_PRECONDITION, and it stops without writing more.
TEST_F(WorkerDaemonTest, LostLeaseStopsTheJobQuietly) {
  const int64_t id = Submit(kLongSpec);
  DaemonThread daemon(Options("w1"));
  ASSERT_TRUE(WaitFor([&] { return GetJob(id).stage.has_value(); }, absl::Seconds(60)));
  {
    pqxx::connection c{cluster_->Uri(db_name_)};
    pqxx::work w{c};
    w.exec_params("UPDATE jobs SET state = 'failed', error = 'taken back by the test', lease_until = NULL "
                  "WHERE id = $1",
                  id);
    w.commit();
  }
  const size_t events = Events(id).size();
  absl::SleepFor(absl::Seconds(3));  // three heartbeats
  EXPECT_EQ(Events(id).size(), events) << "the worker wrote after losing its lease";
  const store::Job job = GetJob(id);
  EXPECT_EQ(job.state, store::JobState::kFailed);
  EXPECT_EQ(job.error.value_or(""), "taken back by the test");
  ASSERT_OK(daemon.Stop());
}

TEST_F(WorkerDaemonTest, StopHandsARunningJobBack) {
  const int64_t id = Submit(kLongSpec);
  auto daemon = std::make_unique<DaemonThread>(Options("w1"));
  ASSERT_TRUE(WaitFor([&] { return GetJob(id).state == store::JobState::kRunning; }, absl::Seconds(60)));
  ASSERT_TRUE(WaitFor([&] { return GetJob(id).stage.has_value(); }, absl::Seconds(60)));
  const absl::Time t0 = absl::Now();
  ASSERT_OK(daemon->Stop());
  std::printf("daemon stopped %.2f s after the stop flag\n", absl::ToDoubleSeconds(absl::Now() - t0));
  const store::Job job = GetJob(id);
  EXPECT_EQ(job.state, store::JobState::kQueued);
  bool released = false;
  for (const store::JobEvent& e : Events(id)) released |= e.message == "released by worker shutdown";
  EXPECT_TRUE(released);
  daemon.reset();

  EXPECT_EQ(job.attempts, 1);
  EXPECT_FALSE(job.stage.has_value());

  // Claimable again at once (not_before = now()), by the next worker.
  DaemonOptions next = Options("w2");
  next.once = true;
  std::atomic<bool> stop{false};
  std::thread canceller([&] {
    WaitFor([&] { return GetJob(id).worker.value_or("") == "w2"; }, absl::Seconds(30));
    (void)store::CancelJob(*db_, team_, id);  // no need to run it all
  });
  ASSERT_OK(RunDaemon(next, Isolated(), stop));
  canceller.join();
  EXPECT_EQ(GetJob(id).attempts, 2);
  EXPECT_EQ(GetJob(id).state, store::JobState::kCancelled);
}

// Records `path` as a blob of the team (as an upload would) and returns its asset.
store::AssetRef BlobAsset(store::Db& db, int64_t team, const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string bytes = ss.str();
  store::AssetRef a;
  a.blob_sha256 = Sha256Raw(bytes);
  a.blob_size = static_cast<int64_t>(bytes.size());
  a.blob_path = path;
  EXPECT_TRUE(store::PutBlob(db, {*a.blob_sha256, a.blob_size, path}).ok());
  EXPECT_TRUE(store::AddBlobOwner(db, team, *a.blob_sha256, a.blob_size).ok());
  return a;
}

// Blob assets without a server: the worker copies the blob store's file into its cache
// (verifying the digest) and extracts the dataset archive once; the second job reuses both.
TEST_F(WorkerDaemonTest, BlobAssetsAreCachedAndArchivesExtractedOnce) {
  namespace fs = std::filesystem;
  const std::string archive = (fs::path(cluster_->dir()) / "eval.tar").string();
  ASSERT_OK(client::PackDataset(ModelsDir() + "/dataset.json", archive));
  std::vector<int64_t> ids;
  for (int i = 0; i < 2; ++i) {
    store::NewJob job;
    job.team_id = team_;
    job.spec_json = kTinySpec;
    job.assets.model = BlobAsset(*db_, team_, ModelsDir() + "/cnn_bn.onnx");
    job.assets.eval_dataset = BlobAsset(*db_, team_, archive);
    job.assets.calibration_dataset = PathAsset(ModelsDir() + "/train_dataset.json");  // see Submit
    job.configs = {{"fp32", "{}", true}};
    ASSERT_OK_AND_ASSIGN(store::CreateJobResult created, store::CreateJob(*db_, job));
    ids.push_back(created.job.id);
  }
  DaemonOptions o = Options("w1");
  o.max_jobs = 2;
  std::atomic<bool> stop{false};
  ASSERT_OK(RunDaemon(o, Isolated(), stop));
  for (int64_t id : ids) EXPECT_EQ(GetJob(id).state, store::JobState::kSucceeded) << GetJob(id).error.value_or("");

  ASSERT_OK_AND_ASSIGN(store::JobAssets assets, store::GetJobAssets(*db_, ids[0]));
  const std::string model_hex = HexEncode(*assets.model->blob_sha256);
  const std::string data_hex = HexEncode(*assets.eval_dataset->blob_sha256);
  EXPECT_TRUE(fs::exists(fs::path(cache_dir_) / "blobs" / model_hex.substr(0, 2) / model_hex));
  EXPECT_TRUE(fs::exists(fs::path(cache_dir_) / "datasets" / data_hex / "dataset.json"));
  for (const auto& entry : fs::directory_iterator(fs::path(cache_dir_) / "datasets"))
    EXPECT_THAT(entry.path().filename().string(), ::testing::Not(HasSubstr(".tmp"))) << "half-extracted dataset left";
}

// pg_ctl on the test cluster (as `postgres` when we are root, like tests/pg_test_util.cc).
int PgCtl(const qbench::testing::PgTestCluster& pg, const std::string& args) {
  const char* env_bin = std::getenv("QB_PG_BIN");
  const std::string bin = env_bin && *env_bin ? env_bin : "/usr/lib/postgresql/15/bin";
  const std::string cmd = absl::StrCat(geteuid() == 0 ? "runuser -u postgres -- " : "", bin, "/pg_ctl -D ", pg.dir(),
                                       "/data -l ", pg.dir(), "/server.log -w -t 30 ", args, " >>", pg.dir(),
                                       "/pg_ctl.log 2>&1");
  return std::system(cmd.c_str());
}

// A 2 s PostgreSQL outage while a job runs: the worker retries its writes and heartbeats
// and the job still succeeds on its first attempt with all its rows.
TEST_F(WorkerDaemonTest, JobSurvivesAPostgresRestart) {
  const int64_t id = Submit(kMediumSpec);
  DaemonOptions o = Options("w1");
  o.lease = absl::Seconds(15);  // longer than the outage
  o.db_retry = absl::Seconds(60);
  DaemonThread daemon(o);
  auto has_progress = [&] {
    for (const store::JobEvent& e : Events(id))
      if (e.kind == "progress" && e.config) return true;
    return false;
  };
  ASSERT_TRUE(WaitFor(has_progress, absl::Seconds(60)));
  db_.reset();
  ASSERT_EQ(PgCtl(*cluster_, "-m fast stop"), 0);
  absl::SleepFor(absl::Seconds(2));
  ASSERT_EQ(PgCtl(*cluster_, absl::StrCat("start -o \"-p ", cluster_->port(), " -k ", cluster_->dir(),
                                          " -c listen_addresses=127.0.0.1 -c fsync=off\"")),
            0);
  ASSERT_OK_AND_ASSIGN(db_, store::Db::Connect(cluster_->Uri(db_name_)));
  EXPECT_TRUE(WaitFor([&] { return store::IsTerminal(GetJob(id).state); }, absl::Seconds(90)));
  ASSERT_OK(daemon.Stop());
  const store::Job job = GetJob(id);
  EXPECT_EQ(job.state, store::JobState::kSucceeded) << job.error.value_or("");
  EXPECT_EQ(job.attempts, 1);
  ASSERT_OK_AND_ASSIGN(std::vector<store::ResultRow> rows, store::ListResults(*db_, id));
  EXPECT_EQ(rows.size(), 4u);
  ASSERT_OK_AND_ASSIGN(std::vector<store::ConfigOutcome> outcomes, store::ListConfigOutcomes(*db_, id));
  EXPECT_EQ(outcomes.size(), 2u);
}

TEST_F(WorkerDaemonTest, TwoDaemonsShareSixJobsWithoutDuplicates) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(Submit(kTinySpec));
  const absl::Time t0 = absl::Now();
  {
    DaemonThread a(Options("w1")), b(Options("w2"));
    const bool all_done = WaitFor(
        [&] {
          for (int64_t id : ids)
            if (!store::IsTerminal(GetJob(id).state)) return false;
          return true;
        },
        absl::Seconds(180));
    EXPECT_TRUE(all_done);
    ASSERT_OK(a.Stop());
    ASSERT_OK(b.Stop());
  }
  std::printf("six jobs on two daemons in %.1f s\n", absl::ToDoubleSeconds(absl::Now() - t0));
  std::map<std::string, int> per_worker;
  for (int64_t id : ids) {
    const store::Job job = GetJob(id);
    EXPECT_EQ(job.state, store::JobState::kSucceeded) << "jobs/" << id << ": " << job.error.value_or("");
    EXPECT_EQ(job.attempts, 1) << "jobs/" << id;
    int claims = 0;
    for (const store::JobEvent& e : Events(id)) claims += e.kind == "state" && e.message == "claimed";
    EXPECT_EQ(claims, 1) << "jobs/" << id;
    ASSERT_OK_AND_ASSIGN(std::vector<store::ResultRow> rows, store::ListResults(*db_, id));
    ASSERT_EQ(rows.size(), 1u) << "jobs/" << id;
    EXPECT_EQ(rows[0].device, absl::StrCat("workers/", job.worker.value_or("?"), "/devices/cpu0"));
    ASSERT_OK_AND_ASSIGN(std::vector<store::ConfigOutcome> outcomes, store::ListConfigOutcomes(*db_, id));
    EXPECT_EQ(outcomes.size(), 1u);
    ++per_worker[job.worker.value_or("?")];
  }
  for (const auto& [worker, n] : per_worker) std::printf("  %s ran %d jobs\n", worker.c_str(), n);
}

// Issue 17, finding 5: a 576-byte model with a Conv of pads=40000 crashed the worker (and,
// retried, the next two). Now its job fails with the plan's reason and the same worker
// runs the next job.
TEST_F(WorkerDaemonTest, HostileModelFailsItsJobAndTheWorkerRunsTheNext) {
  const std::string model = WriteHostileModel((std::filesystem::path(shared_dir_) / "pads40000.onnx").string());
  const int64_t bad = Submit(kTinySpec, model);
  const int64_t good = Submit(kTinySpec);
  DaemonOptions o = Options("w1");
  o.max_jobs = 2;
  std::atomic<bool> stop{false};
  ASSERT_OK(RunDaemon(o, Isolated(), stop));

  const store::Job failed = GetJob(bad);
  EXPECT_EQ(failed.state, store::JobState::kFailed);
  EXPECT_EQ(failed.attempts, 1);
  const std::string error = failed.error.value_or("");
  std::printf("hostile model: %s\n", error.c_str());
  EXPECT_THAT(error, HasSubstr("node \"conv_pads_40000\""));
  EXPECT_THAT(error, HasSubstr("memory budget"));
  const store::Job next = GetJob(good);
  EXPECT_EQ(next.state, store::JobState::kSucceeded) << next.error.value_or("");
  EXPECT_EQ(next.worker.value_or(""), "w1");
}

// An engine process that dies mid-job (here: SIGSEGV from outside, as a crash inside
// oneDNN would deliver it) ends that attempt with the signal and the configuration it was
// running, and the job is queued again; the worker lives and runs the other job. When
// every attempt crashes (issue 17, finding 5), the job fails saying so.
TEST_F(WorkerDaemonTest, EngineCrashesAreRetriedAndAJobThatAlwaysCrashesFailsSayingSo) {
  const int64_t crashing = Submit(kLongSpec);
  const int64_t next = Submit(kTinySpec);
  DaemonThread daemon(Options("w1"));
  for (int attempt = 1; attempt <= 3; ++attempt) {
    ASSERT_TRUE(WaitFor([&] {
      const store::Job j = GetJob(crashing);
      return j.state == store::JobState::kRunning && j.attempts == attempt && j.stage.has_value();
    }, absl::Seconds(60))) << "attempt " << attempt;
    std::vector<pid_t> children;
    ASSERT_TRUE(WaitFor([&] { return !(children = EngineChildren()).empty(); }, absl::Seconds(10)));
    ASSERT_EQ(children.size(), 1u);
    ASSERT_EQ(::kill(children[0], SIGSEGV), 0);
    if (attempt < 3) {
      ASSERT_TRUE(WaitFor([&] { return GetJob(crashing).state != store::JobState::kRunning; }, absl::Seconds(30)));
      EXPECT_NE(GetJob(crashing).state, store::JobState::kFailed) << "a crash is retried while attempts are left";
    }
  }
  ASSERT_TRUE(WaitFor([&] { return store::IsTerminal(GetJob(crashing).state); }, absl::Seconds(30)));
  ASSERT_TRUE(WaitFor([&] { return store::IsTerminal(GetJob(next).state); }, absl::Seconds(60)));
  ASSERT_OK(daemon.Stop());

  const store::Job failed = GetJob(crashing);
  EXPECT_EQ(failed.state, store::JobState::kFailed);
  EXPECT_EQ(failed.attempts, 3);
  const std::string error = failed.error.value_or("");
  std::printf("crashed engine: %s\n", error.c_str());
  EXPECT_THAT(error, HasSubstr("the engine crashed on every one of the job's 3 attempts; the last: "));
  // SIGSEGV, or SIGABRT under AddressSanitizer (abort_on_error: its handler reports the
  // SEGV, then aborts).
  EXPECT_THAT(error, ::testing::ContainsRegex("the engine process was killed by signal (11 \\(SIGSEGV\\)|6 "
                                              "\\(SIGABRT\\)) while running configuration \""));
  EXPECT_THAT(error, ::testing::Not(HasSubstr("/")));  // no paths
  int crash_events = 0;
  for (const store::JobEvent& e : Events(crashing))
    crash_events += e.kind == "state" && e.message.rfind("engine crashed: ", 0) == 0;
  EXPECT_EQ(crash_events, 2) << "the two retried attempts say why";
  EXPECT_EQ(GetJob(next).state, store::JobState::kSucceeded) << GetJob(next).error.value_or("");
  EXPECT_TRUE(EngineChildren().empty());
}

// Issue 17, finding 6 (worker side): a job past its time limit (the spec's
// max_job_seconds, or the worker's --job-seconds when that is less) is stopped and fails
// with the limit named; the worker goes on to the next.
TEST_F(WorkerDaemonTest, TimeLimitsStopTheEngineAndFailTheJob) {
  std::string by_spec = kLongSpec;
  by_spec.insert(by_spec.rfind('}'), R"(, "max_job_seconds": 2)");
  const int64_t spec_limited = Submit(by_spec);
  const int64_t worker_limited = Submit(kLongSpec);
  JobLimits limits = Isolated();
  limits.wall = absl::Seconds(3);
  DaemonOptions o = Options("w1");
  o.max_jobs = 2;
  std::atomic<bool> stop{false};
  const absl::Time t0 = absl::Now();
  ASSERT_OK(RunDaemon(o, limits, stop));
  const double seconds = absl::ToDoubleSeconds(absl::Now() - t0);
  std::printf("two time-limited jobs in %.1f s\n", seconds);
  for (const auto& [id, want] : {std::pair{spec_limited, "the job ran past its time limit of 2s (the job's max_job_seconds)"},
                                 std::pair{worker_limited, "the job ran past its time limit of 3s (the worker's --job-seconds)"}}) {
    const store::Job job = GetJob(id);
    EXPECT_EQ(job.state, store::JobState::kFailed) << "jobs/" << id;
    EXPECT_THAT(job.error.value_or(""), HasSubstr(want));
    std::printf("  jobs/%lld: %s\n", static_cast<long long>(id), job.error.value_or("").c_str());
  }
  EXPECT_LT(seconds, 15);
  EXPECT_TRUE(EngineChildren().empty());
}

// The same job in-process and in an engine process gives the same figures, bit for bit
// (timings aside); the child costs a fork+exec, a connection and the worker description.
TEST_F(WorkerDaemonTest, EngineProcessResultsMatchInProcessBitForBit) {
  std::map<bool, std::vector<store::ResultRow>> rows;
  std::map<bool, std::vector<store::ConfigOutcome>> outcomes;
  std::map<bool, double> seconds;
  std::map<bool, int64_t> rss_growth;
  for (bool isolated : {false, true}) {
    const int64_t id = Submit(kSmallSpec);
    DaemonOptions o = Options("w1");
    o.once = true;
    std::atomic<bool> stop{false};
    const int64_t rss0 = RssBytes();
    const absl::Time t0 = absl::Now();
    ASSERT_OK(RunDaemon(o, isolated ? Isolated() : JobLimits{}, stop));
    seconds[isolated] = absl::ToDoubleSeconds(absl::Now() - t0);
    rss_growth[isolated] = RssBytes() - rss0;
    ASSERT_EQ(GetJob(id).state, store::JobState::kSucceeded) << GetJob(id).error.value_or("");
    ASSERT_OK_AND_ASSIGN(rows[isolated], store::ListResults(*db_, id));
    ASSERT_OK_AND_ASSIGN(outcomes[isolated], store::ListConfigOutcomes(*db_, id));
  }
  std::printf("small job: in-process %.2f s (RSS +%.1f MiB), engine process %.2f s (RSS +%.1f MiB)\n", seconds[false],
              rss_growth[false] / 1048576.0, seconds[true], rss_growth[true] / 1048576.0);
  ASSERT_EQ(rows[false].size(), rows[true].size());
  for (size_t i = 0; i < rows[false].size(); ++i) {
    const store::ResultRow &a = rows[false][i], &b = rows[true][i];
    EXPECT_EQ(a.config, b.config);
    EXPECT_EQ(a.batch_size, b.batch_size);
    EXPECT_EQ(a.top1, b.top1) << a.config;
    EXPECT_EQ(a.top5, b.top5) << a.config;
    EXPECT_EQ(a.agreement, b.agreement) << a.config;
    EXPECT_EQ(a.sqnr_db, b.sqnr_db) << a.config;
    EXPECT_EQ(a.model_bytes, b.model_bytes) << a.config;
    EXPECT_EQ(a.device, b.device);
  }
  ASSERT_EQ(outcomes[false].size(), outcomes[true].size());
  for (size_t i = 0; i < outcomes[false].size(); ++i) {
    EXPECT_EQ(outcomes[false][i].resolved_json, outcomes[true][i].resolved_json);
    EXPECT_EQ(outcomes[false][i].params_sha256, outcomes[true][i].params_sha256);
    EXPECT_EQ(outcomes[false][i].calibration_sha256, outcomes[true][i].calibration_sha256);
    EXPECT_EQ(outcomes[false][i].samples, outcomes[true][i].samples);
    EXPECT_EQ(outcomes[false][i].top1, outcomes[true][i].top1);
    EXPECT_EQ(outcomes[false][i].agreement, outcomes[true][i].agreement);
    EXPECT_EQ(outcomes[false][i].sqnr_db, outcomes[true][i].sqnr_db);
  }
  // The daemon does not hold the engine's memory: its RSS grows by less than the job's.
  EXPECT_LT(rss_growth[true], 32 << 20);
}

TEST(LocalSpecTest, AssetsReplaceSpecPathsAndExportDirIsSet) {
  store::ClaimedJob job;
  job.spec_json = R"({"model": "/elsewhere/m.onnx", "calibration": {"samples": 8}, "configs": ["w8a8", "fp32"]})";
  job.configs = {{"fp32", "{}", true}, {"w8a8", "{}", false}};
  store::JobAssets assets;
  assets.model = PathAsset(ModelsDir() + "/cnn_bn.onnx");
  assets.eval_dataset = PathAsset(ModelsDir() + "/dataset.json");
  assets.calibration_dataset = PathAsset(ModelsDir() + "/train_dataset.json");
  AssetCache cache("/tmp/unused-cache", std::nullopt);
  ASSERT_OK_AND_ASSIGN(JobSpec spec, LocalJobSpec(job, assets, cache, "/tmp/exports"));
  EXPECT_EQ(spec.model, ModelsDir() + "/cnn_bn.onnx");
  EXPECT_EQ(spec.eval_dataset, ModelsDir() + "/dataset.json");
  EXPECT_EQ(spec.calibration_dataset, ModelsDir() + "/train_dataset.json");
  EXPECT_EQ(spec.calibration_samples, 8);
  EXPECT_EQ(spec.export_dir, "/tmp/exports");
  // The baseline first, whatever order the spec listed: the store flagged fp32 (configs[0]).
  ASSERT_EQ(spec.configs.size(), 2u);
  EXPECT_EQ(spec.configs[0].name, "fp32");
  EXPECT_EQ(spec.configs[1].name, "w8a8");

  // No configs in the spec: the job's, by name.
  job.spec_json = "{}";
  ASSERT_OK_AND_ASSIGN(spec, LocalJobSpec(job, assets, cache, ""));
  ASSERT_EQ(spec.configs.size(), 2u);
  EXPECT_EQ(spec.configs[1].name, "w8a8");
  EXPECT_EQ(spec.configs[1].weights.bits, 8);
  EXPECT_TRUE(spec.export_dir.empty());

  // A job without the calibration set its static configuration needs is refused by name.
  store::JobAssets no_calib = assets;
  no_calib.calibration_dataset.reset();
  auto uncalibrated = LocalJobSpec(job, no_calib, cache, "");
  EXPECT_EQ(uncalibrated.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(uncalibrated.status().message()), HasSubstr("calibration.dataset"));

  // A blob without a server or a readable store path.
  store::JobAssets blob = assets;
  blob.model = store::AssetRef{};
  blob.model->blob_sha256 = std::string(32, '\x11');
  auto missing = LocalJobSpec(job, blob, cache, "");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("blobs/1111"));
}

TEST(DaemonOptionsTest, ParsesFlagsAndRejectsBadOnes) {
  ASSERT_OK_AND_ASSIGN(DaemonOptions o, DaemonOptionsFromFlags({{"--db", "postgresql://x"},
                                                                  {"--lease-seconds", "12"},
                                                                  {"--poll-seconds", "0.5"},
                                                                  {"--once", ""},
                                                                  {"--id", "lab-01"}}));
  EXPECT_EQ(o.db_uri, "postgresql://x");
  EXPECT_EQ(o.lease, absl::Seconds(12));
  EXPECT_EQ(o.poll, absl::Milliseconds(500));
  EXPECT_TRUE(o.once);
  EXPECT_EQ(o.id, "lab-01");
  EXPECT_FALSE(o.server.has_value());
  EXPECT_EQ(DaemonOptionsFromFlags({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DaemonOptionsFromFlags({{"--db", "x"}, {"--lease-seconds", "-1"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DaemonOptionsFromFlags({{"--db", "x"}, {"--insecure", ""}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(DaemonOptions s, DaemonOptionsFromFlags({{"--db", "x"}, {"--server", "h:1"}, {"--insecure", ""}}));
  ASSERT_TRUE(s.server.has_value());
  EXPECT_EQ(s.server->server, "h:1");
  EXPECT_TRUE(s.server->insecure);
}

}  // namespace
}  // namespace qbench::worker
