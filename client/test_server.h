// Test fixture: the real qbench-server (QbServer) in-process on a loopback port, with
// the real FileTokenVerifier and an in-memory JobRepository standing in for PostgreSQL,
// so the client is tested against the actual gRPC services.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client/connection.h"
#include "server/job_repository.h"
#include "server/server.h"
#include "server/token_file.h"
#include "engine/data/test_util.h"

namespace qbench::client::testing {

// The JobRepository contract (team scoping, request_id idempotency, newest-first pages,
// cancellation rules) in memory; tests play the worker through the Set*/Add* methods.
class MemoryJobs : public server::JobRepository {
 public:
  absl::StatusOr<server::JobRecord> CreateJob(const server::NewJob& job) override;
  absl::StatusOr<server::JobRecord> GetJob(const std::string& team_id, int64_t id) override;
  absl::StatusOr<server::JobPage> ListJobs(const std::string& team_id, const server::JobFilter& filter,
                                           int32_t page_size, const std::string& page_token) override;
  absl::StatusOr<server::JobRecord> CancelJob(const std::string& team_id, int64_t id) override;
  absl::StatusOr<EventsPage> ListEvents(const std::string& team_id, int64_t id, int64_t after_sequence) override;
  absl::StatusOr<std::vector<int64_t>> WaitForEvents(absl::Duration timeout) override;
  absl::StatusOr<qbench::v1::JobResults> GetResults(const std::string& team_id, int64_t id) override;
  absl::StatusOr<ExportBlob> FindExport(const std::string& team_id, int64_t id, const std::string& config) override;

  // Appends an event (its sequence is assigned); a state change also moves the job.
  void AddEvent(int64_t id, qbench::v1::JobEvent event);
  void SetResults(int64_t id, const qbench::v1::JobResults& results);
  void SetExport(int64_t id, const std::string& config, const std::string& sha256, int64_t size);
  server::JobRecord Job(int64_t id);
  int64_t count();

 private:
  absl::StatusOr<server::JobRecord*> Find(const std::string& team_id, int64_t id);  // mu_ held

  std::mutex mu_;
  std::condition_variable changed_;
  std::map<int64_t, server::JobRecord> jobs_;
  std::map<int64_t, std::vector<qbench::v1::JobEvent>> events_;
  std::map<int64_t, qbench::v1::JobResults> results_;
  std::map<std::pair<int64_t, std::string>, ExportBlob> exports_;
  std::vector<int64_t> pending_;  // jobs with events since the last WaitForEvents
  int64_t next_id_ = 1;
};

// Tokens the server accepts: kToken for team "acme", kAdminToken for admin team "ops".
inline constexpr char kToken[] = "acme-test-token-1";
inline constexpr char kAdminToken[] = "ops-admin-token-1";

class TestServer {
 public:
  struct Options {
    bool with_jobs = true;  // false: no job store (the Jobs service answers UNIMPLEMENTED)
    bool tls = false;       // a throwaway self-signed certificate for localhost
  };
  // Starts it; gtest assertion failures on error.
  explicit TestServer(const Options& options);
  TestServer() : TestServer(Options{}) {}
  ~TestServer();

  // Authenticated as team "acme" (or with `token`); TLS ones trust ca_file().
  Connection connection(const std::string& token = kToken) const;
  std::string address() const;
  const std::string& ca_file() const { return ca_file_; }
  const std::string& dir() const { return dir_.path(); }
  MemoryJobs& jobs() { return jobs_; }
  void Shutdown();
  // Stops and starts again on the same port with the same blobs and jobs: streams break
  // (UNAVAILABLE) and clients must reconnect.
  void Restart();

 private:
  void Start(int port);

  Options options_;
  int port_ = 0;
  data::test_util::TempDir dir_;
  std::string ca_file_;
  MemoryJobs jobs_;
  std::unique_ptr<server::FileTokenVerifier> verifier_;
  std::unique_ptr<server::QbServer> server_;
};

}  // namespace qbench::client::testing
