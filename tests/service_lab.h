// A whole QBench deployment on loopback for tests and benchmarks: a throwaway PostgreSQL
// cluster (migrated), the real qbench-server binary, and real qbench-worker processes
// that can be started, killed (-9) and restarted. Two teams ("acme" and "beta") with one
// token each, and an admin token (the workers') are created through the store.
#pragma once

#include <grpcpp/client_context.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "qbench/v1/qbench.grpc.pb.h"
#include "tests/pg_test_util.h"
#include "tests/subprocess.h"

namespace qbench::testing {

// The folders the lab's server and workers accept shared paths under (--shared-root): the
// project's models/ and, where installed, Debian's /usr/share/datasets.
std::vector<std::string> DefaultSharedRoots();

struct LabOptions {
  std::string server_binary, worker_binary;  // paths of qbench-server and qbench-worker
  int lease_seconds = 3;                     // workers' lease (heartbeats every third)
  int64_t max_upload_bytes = int64_t{256} << 20;
  int db_pool = 16;
  std::vector<std::string> shared_roots = DefaultSharedRoots();
};

class Lab {
 public:
  static absl::StatusOr<std::unique_ptr<Lab>> Start(const LabOptions& options);
  ~Lab();

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }
  PgTestCluster& pg() { return *pg_; }
  // Team tokens: "acme", "beta"; "admin" is the workers' admin token.
  const std::string& token(const std::string& who) const { return tokens_.at(who); }
  // A file holding the token (for --token-file).
  std::string token_file(const std::string& who) const { return dir_ + "/" + who + ".token"; }

  // Starts worker `id` (its log: <dir>/worker-<id>.log). Returns its index.
  // `extra`: more qbench-worker flags (e.g. --device ID=RUNNER).
  absl::StatusOr<int> StartWorker(const std::string& id, const std::vector<std::string>& extra = {});
  Subprocess& worker(int index) { return *workers_[index]; }
  std::string WorkerLog(const std::string& id) const { return dir_ + "/worker-" + id + ".log"; }
  std::string ServerLog() const { return dir_ + "/server.log"; }

  // Stubs on one channel.
  v1::Jobs::Stub& jobs() { return *jobs_; }
  v1::Blobs::Stub& blobs() { return *blobs_; }
  v1::Devices::Stub& devices() { return *devices_; }
  v1::Admin::Stub& admin() { return *admin_; }

  // A context carrying `token` (none when empty) and a deadline.
  static std::unique_ptr<grpc::ClientContext> Context(const std::string& token,
                                                      absl::Duration deadline = absl::Seconds(30));

  // Polls GetJob until the job reaches a final state or `timeout` passes (then the last
  // state seen is returned with DEADLINE_EXCEEDED).
  absl::StatusOr<v1::Job> WaitForEnd(const std::string& token, const std::string& name, absl::Duration timeout);
  // Polls until the job is RUNNING with at least one progress entry.
  absl::StatusOr<v1::Job> WaitForProgress(const std::string& token, const std::string& name, absl::Duration timeout);

 private:
  Lab() = default;
  absl::Status StartServer();
  // GetJob every 100 ms until `done` says true (or fails) or `timeout` passes.
  absl::StatusOr<v1::Job> Poll(const std::string& token, const std::string& name, absl::Duration timeout,
                               const std::function<absl::StatusOr<bool>(const v1::Job&)>& done);

  LabOptions options_;
  std::string dir_;
  std::unique_ptr<PgTestCluster> pg_;
  std::string db_uri_;
  int port_ = 0;
  std::map<std::string, std::string> tokens_;
  std::unique_ptr<Subprocess> server_;
  std::vector<std::unique_ptr<Subprocess>> workers_;
  std::unique_ptr<v1::Jobs::Stub> jobs_;
  std::unique_ptr<v1::Blobs::Stub> blobs_;
  std::unique_ptr<v1::Devices::Stub> devices_;
  std::unique_ptr<v1::Admin::Stub> admin_;
};

// A small job spec on the project's own Fashion-MNIST model with absolute (shared)
// paths: `samples` evaluation images, the given configurations, batch sizes and a short
// latency loop. Sensitivity is off unless asked.
std::string SmallSpec(const std::vector<std::string>& configs, int samples, const std::vector<int>& batch_sizes,
                      double min_seconds = 0.05, int calibration_samples = 128);

}  // namespace qbench::testing
