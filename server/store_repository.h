// The server's storage interfaces (JobRepository, BlobOwners, AdminRepository,
// DeviceRegistry) implemented on the PostgreSQL store. This is the edge where team names
// become store keys and store rows become API records; no SQL here (the store has it).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "server/admin_service.h"
#include "server/blobs_service.h"
#include "server/devices_service.h"
#include "server/job_repository.h"
#include "server/store/notify.h"
#include "server/store/pool.h"

namespace qbench::server {

class StoreRepository final : public JobRepository, public BlobOwners, public AdminRepository, public DeviceRegistry {
 public:
  // `db_uri` opens the connection that listens for job events; `blob_dir` is where the
  // server keeps blobs (recorded with the jobs that use them).
  StoreRepository(store::DbPool* pool, std::string db_uri, std::string blob_dir)
      : pool_(pool), db_uri_(std::move(db_uri)), blob_dir_(std::move(blob_dir)) {}

  // JobRepository
  absl::StatusOr<JobRecord> CreateJob(const NewJob& job) override;
  absl::StatusOr<JobRecord> GetJob(const std::string& team_id, int64_t id) override;
  absl::StatusOr<JobPage> ListJobs(const std::string& team_id, const JobFilter& filter, int32_t page_size,
                                   const std::string& page_token) override;
  absl::StatusOr<JobRecord> CancelJob(const std::string& team_id, int64_t id) override;
  absl::StatusOr<EventsPage> ListEvents(const std::string& team_id, int64_t id, int64_t after_sequence) override;
  absl::StatusOr<std::vector<int64_t>> WaitForEvents(absl::Duration timeout) override;
  absl::StatusOr<qbench::v1::JobResults> GetResults(const std::string& team_id, int64_t id) override;
  absl::StatusOr<ExportBlob> FindExport(const std::string& team_id, int64_t id, const std::string& config) override;

  // BlobOwners
  absl::Status Add(const std::string& team_id, const std::string& sha256_hex, int64_t size) override;
  absl::StatusOr<bool> Owns(const std::string& team_id, const std::string& sha256_hex) override;
  absl::StatusOr<bool> HeldByAWorker(const std::string& sha256_hex) override;

  // AdminRepository
  absl::Status CreateTeam(const std::string& team_id, const std::string& display_name) override;
  absl::StatusOr<int64_t> CreateToken(const std::string& team_id, const std::string& display_name, bool admin,
                                      bool worker, const std::string& secret_sha256,
                                      std::optional<absl::Time> expires) override;
  absl::Status RevokeToken(const std::string& team_id, int64_t token_id) override;

  // DeviceRegistry: workers seen in the last day; online when they heart-beat within a minute.
  absl::StatusOr<qbench::v1::ListDevicesResponse> ListWorkers(int32_t page_size, const std::string& page_token) override;

 private:
  // The store's key of a team name (cached: names never change). NOT_FOUND for none.
  absl::StatusOr<int64_t> TeamKey(const std::string& team_id);

  store::DbPool* pool_;
  const std::string db_uri_, blob_dir_;
  std::mutex teams_mu_;
  std::map<std::string, int64_t> teams_;  // guarded by teams_mu_
  std::mutex listen_mu_;
  std::unique_ptr<store::QueueListener> listener_;  // guarded by listen_mu_
};

// Builds the JobResults message from the store's rows (store_results.cc).
absl::StatusOr<qbench::v1::JobResults> LoadResults(store::Db& db, int64_t job_id);

}  // namespace qbench::server
