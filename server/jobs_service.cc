#include "server/jobs_service.h"

#include <cstdio>
#include <exception>

#include "absl/strings/str_cat.h"
#include "server/api_state.h"
#include "server/file_stream.h"
#include "server/grpc_status.h"
#include "server/proto_time.h"
#include "server/offload.h"

namespace qbench::server {
namespace {

void ToProto(const ArtifactSource& a, qbench::v1::ArtifactRef* ref) {
  if (a.kind == ArtifactSource::Kind::kBlob) ref->set_blob("blobs/" + a.value);
  if (a.kind == ArtifactSource::Kind::kSharedPath) ref->set_shared_path(a.value);
  ref->set_manifest(a.manifest);
}

// A streaming call that fails before its first message.
template <typename T>
class FailedWriter : public grpc::ServerWriteReactor<T> {
 public:
  explicit FailedWriter(const absl::Status& s) { this->Finish(ToGrpcStatus(s)); }
  void OnDone() override { delete this; }
};

absl::Status NoStore() { return absl::UnimplementedError("jobs: no job store is configured on this server yet"); }

// Validation answers with a status; should a library throw anyway (nlohmann, the
// engine), the request fails and the server keeps serving. The detail goes to the log.
absl::StatusOr<NewJob> ValidateOrRefuse(const qbench::v1::CreateJobRequest& request, const std::string& team_id,
                                        const JobLimits& limits) {
  try {
    return ValidateCreateJob(request, team_id, limits);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qbench-server: CreateJob validation threw: %s\n", e.what());
    return absl::InvalidArgumentError("spec_json: could not be validated");
  }
}

}  // namespace

void ToProto(const JobRecord& r, qbench::v1::Job* job) {
  job->set_name(absl::StrCat("jobs/", r.id));
  job->set_display_name(r.job.display_name);
  job->set_team("teams/" + r.job.team_id);
  job->set_state(ToApiState(r.state));
  job->set_stage(static_cast<qbench::v1::Stage>(r.stage));
  job->set_failure_reason(r.failure_reason);
  job->set_spec_json(r.job.spec_json);
  ToProto(r.job.model, job->mutable_model());
  ToProto(r.job.eval_dataset, job->mutable_eval_dataset());
  ToProto(r.job.calibration_dataset, job->mutable_calibration_dataset());
  if (!r.job.device_class.empty()) job->mutable_device()->set_device_class(r.job.device_class);
  if (!r.job.device.empty()) job->mutable_device()->set_device(r.job.device);
  job->set_request_id(r.job.request_id);
  job->set_attempts(r.attempts);
  job->set_worker(r.worker);
  SetTimestamp(r.create_time, job->mutable_create_time());
  SetTimestamp(r.start_time, job->mutable_start_time());
  SetTimestamp(r.end_time, job->mutable_end_time());
  for (const ConfigProgressRecord& p : r.progress) {
    auto* out = job->add_progress();
    out->set_config(p.config);
    out->set_stage(static_cast<qbench::v1::Stage>(p.stage));
    out->set_done(p.done);
    out->set_total(p.total);
  }
}

absl::StatusOr<Principal> JobsService::Begin(grpc::CallbackServerContext* ctx) const {
  return Authenticate(*ctx, *verifier_);
}

absl::StatusOr<JobsService::JobCall> JobsService::BeginJobCall(grpc::CallbackServerContext* ctx,
                                                               const std::string& name) const {
  auto principal = Begin(ctx);
  if (!principal.ok()) return principal.status();
  auto id = ParseJobName(name);
  if (!id.ok()) return id.status();
  if (repository_ == nullptr) return NoStore();
  return JobCall{*std::move(principal), *id};
}

grpc::ServerUnaryReactor* JobsService::CreateJob(grpc::CallbackServerContext* ctx,
                                                 const qbench::v1::CreateJobRequest* request, qbench::v1::Job* response) {
  return RunUnary(ctx, pool_, [=, this]() -> absl::Status {
    auto principal = Begin(ctx);
    if (!principal.ok()) return principal.status();
    auto job = ValidateOrRefuse(*request, principal->team_id, limits_);
    if (!job.ok()) return job.status();
    if (repository_ == nullptr) return NoStore();
    auto record = repository_->CreateJob(*job);
    if (record.ok()) ToProto(*record, response);
    return record.status();
  });
}

grpc::ServerUnaryReactor* JobsService::GetJob(grpc::CallbackServerContext* ctx, const qbench::v1::GetJobRequest* request,
                                              qbench::v1::Job* response) {
  return RunUnary(ctx, pool_, [=, this]() -> absl::Status {
    auto call = BeginJobCall(ctx, request->name());
    if (!call.ok()) return call.status();
    auto record = repository_->GetJob(call->principal.team_id, call->id);
    if (record.ok()) ToProto(*record, response);
    return record.status();
  });
}

grpc::ServerUnaryReactor* JobsService::ListJobs(grpc::CallbackServerContext* ctx,
                                                const qbench::v1::ListJobsRequest* request,
                                                qbench::v1::ListJobsResponse* response) {
  return RunUnary(ctx, pool_, [=, this]() -> absl::Status {
    auto principal = Begin(ctx);
    if (!principal.ok()) return principal.status();
    auto page_size = NormalizePageSize(request->page_size());
    if (!page_size.ok()) return page_size.status();
    auto filter = ParseJobFilter(request->filter());
    if (!filter.ok()) return filter.status();
    if (repository_ == nullptr) return NoStore();
    auto page = repository_->ListJobs(principal->team_id, *filter, *page_size, request->page_token());
    if (page.ok()) {
      for (const JobRecord& r : page->jobs) ToProto(r, response->add_jobs());
      response->set_next_page_token(page->next_page_token);
    }
    return page.status();
  });
}

grpc::ServerUnaryReactor* JobsService::CancelJob(grpc::CallbackServerContext* ctx,
                                                 const qbench::v1::CancelJobRequest* request, qbench::v1::Job* response) {
  return RunUnary(ctx, pool_, [=, this]() -> absl::Status {
    auto call = BeginJobCall(ctx, request->name());
    if (!call.ok()) return call.status();
    auto record = repository_->CancelJob(call->principal.team_id, call->id);
    if (record.ok()) ToProto(*record, response);
    return record.status();
  });
}

grpc::ServerWriteReactor<qbench::v1::JobEvent>* JobsService::WatchJob(grpc::CallbackServerContext* ctx,
                                                                      const qbench::v1::WatchJobRequest* request) {
  auto principal = Begin(ctx);
  absl::Status s = principal.status();
  absl::StatusOr<int64_t> id = s.ok() ? ParseJobName(request->name()) : absl::StatusOr<int64_t>(s);
  s = id.status();
  if (s.ok() && request->after_sequence() < 0) s = absl::InvalidArgumentError("after_sequence: must be >= 0");
  if (s.ok() && (repository_ == nullptr || hub_ == nullptr)) s = NoStore();
  if (!s.ok()) return new FailedWriter<qbench::v1::JobEvent>(s);
  // An unknown or foreign job ends the stream with NOT_FOUND from the hub's first read.
  return hub_->Watch(principal->team_id, *id, request->after_sequence());
}

grpc::ServerUnaryReactor* JobsService::GetResults(grpc::CallbackServerContext* ctx,
                                                  const qbench::v1::GetResultsRequest* request,
                                                  qbench::v1::JobResults* response) {
  return RunUnary(ctx, pool_, [=, this]() -> absl::Status {
    auto call = BeginJobCall(ctx, request->name());
    if (!call.ok()) return call.status();
    auto results = repository_->GetResults(call->principal.team_id, call->id);
    if (results.ok()) *response = *std::move(results);
    return results.status();
  });
}

grpc::ServerWriteReactor<qbench::v1::ExportModelResponse>* JobsService::ExportModel(
    grpc::CallbackServerContext* ctx, const qbench::v1::ExportModelRequest* request) {
  using Response = qbench::v1::ExportModelResponse;
  auto principal = Begin(ctx);
  absl::Status s = principal.status();
  absl::StatusOr<int64_t> id = s.ok() ? ParseJobName(request->name()) : absl::StatusOr<int64_t>(s);
  s = id.status();
  if (s.ok() && request->config().empty()) s = absl::InvalidArgumentError("config: is required");
  if (s.ok() && (repository_ == nullptr || blobs_ == nullptr)) s = NoStore();
  if (!s.ok()) return new FailedWriter<Response>(s);
  auto blob = repository_->FindExport(principal->team_id, *id, request->config());
  if (!blob.ok()) return new FailedWriter<Response>(blob.status());
  auto path = blobs_->BlobPath(blob->sha256);
  if (!path.ok()) return new FailedWriter<Response>(path.status());
  const std::string sha = blob->sha256;
  return StreamFile<Response>(*path, 0, request->name() + " export", [sha](Response* r) { r->set_sha256(sha); });
}

}  // namespace qbench::server
