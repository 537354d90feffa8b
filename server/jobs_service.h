// The Jobs gRPC service: authenticate, validate, convert, and call the JobRepository.
#pragma once

#include "qbench/v1/qbench.grpc.pb.h"
#include "server/auth.h"
#include "server/blob_store.h"
#include "server/offload.h"
#include "server/watch_hub.h"
#include "server/job_repository.h"
#include "server/job_validation.h"

namespace qbench::server {

class JobsService final : public qbench::v1::Jobs::CallbackService {
 public:
  // `repository` may be null until the store is configured: valid requests then get
  // UNIMPLEMENTED (invalid ones still get INVALID_ARGUMENT).
  // `blobs` serves exports; `hub` (present when `repository` is) serves WatchJob.
  // `pool` runs the handlers that touch the repository (null: inline).
  JobsService(JobRepository* repository, const TokenVerifier* verifier, JobLimits limits, BlobStore* blobs = nullptr,
              WatchHub* hub = nullptr, BlockingPool* pool = nullptr)
      : repository_(repository), verifier_(verifier), limits_(limits), blobs_(blobs), hub_(hub), pool_(pool) {}

  grpc::ServerUnaryReactor* CreateJob(grpc::CallbackServerContext* ctx, const qbench::v1::CreateJobRequest* request,
                                      qbench::v1::Job* response) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* ctx, const qbench::v1::GetJobRequest* request,
                                   qbench::v1::Job* response) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* ctx, const qbench::v1::ListJobsRequest* request,
                                     qbench::v1::ListJobsResponse* response) override;
  grpc::ServerUnaryReactor* CancelJob(grpc::CallbackServerContext* ctx, const qbench::v1::CancelJobRequest* request,
                                      qbench::v1::Job* response) override;
  grpc::ServerWriteReactor<qbench::v1::JobEvent>* WatchJob(grpc::CallbackServerContext* ctx,
                                                           const qbench::v1::WatchJobRequest* request) override;
  grpc::ServerUnaryReactor* GetResults(grpc::CallbackServerContext* ctx, const qbench::v1::GetResultsRequest* request,
                                       qbench::v1::JobResults* response) override;
  grpc::ServerWriteReactor<qbench::v1::ExportModelResponse>* ExportModel(
      grpc::CallbackServerContext* ctx, const qbench::v1::ExportModelRequest* request) override;

 private:
  absl::StatusOr<Principal> Begin(grpc::CallbackServerContext* ctx) const;
  // Authenticates, parses "jobs/<id>" and checks that a store is configured.
  struct JobCall {
    Principal principal;
    int64_t id = 0;
  };
  absl::StatusOr<JobCall> BeginJobCall(grpc::CallbackServerContext* ctx, const std::string& name) const;

  JobRepository* repository_;
  const TokenVerifier* verifier_;
  JobLimits limits_;
  BlobStore* blobs_;
  WatchHub* hub_;
  BlockingPool* pool_;
};

// JobRecord -> the API's Job.
void ToProto(const JobRecord& record, qbench::v1::Job* job);

}  // namespace qbench::server
