#include "server/store_repository.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status.h"
#include "server/proto_time.h"
#include "server/store/blobs.h"
#include "server/store/jobs.h"
#include "server/store/outcomes.h"
#include "server/store/queue.h"
#include "server/store/teams.h"
#include "server/store/workers.h"

#include "server/api_state.h"

namespace qbench::server {
namespace {

// An attached device's attributes (the worker's device::PublicAttributes) as the API's
// fields; the worker's own CPU has no "runner" and keeps them empty. The JSON is ours,
// written by a worker: what is unreadable in it is left out.
void SetAttachedFields(const std::string& attributes_json, qbench::v1::Device* out) {
  const nlohmann::json j = nlohmann::json::parse(attributes_json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("runner")) return;
  auto str = [&](const char* key) { return j[key].is_string() ? j[key].get<std::string>() : std::string(); };
  auto list = [&](const char* key, google::protobuf::RepeatedPtrField<std::string>* to) {
    if (!j.contains(key) || !j[key].is_array()) return;
    for (const auto& v : j[key])
      if (v.is_string()) to->Add(v.get<std::string>());
  };
  out->set_runner(str("runner"));
  if (j.contains("runtime")) out->set_runtime(str("runtime"));
  if (j.contains("version")) out->set_runtime_version(str("version"));
  list("providers", out->mutable_providers());
  list("meters", out->mutable_meters());
}

JobStage StageFrom(const std::optional<std::string>& stage) {
  if (!stage) return JobStage::kNone;
  for (int i = 0; i < 4; ++i)
    if (*stage == store::kStages[i]) return static_cast<JobStage>(i + 1);
  return JobStage::kNone;
}

ArtifactSource SourceFrom(const std::optional<store::AssetRef>& a) {
  ArtifactSource out;
  if (!a) return out;
  if (a->blob_sha256) {
    out.kind = ArtifactSource::Kind::kBlob;
    out.value = HexEncode(*a->blob_sha256);
  } else if (a->path) {
    out.kind = ArtifactSource::Kind::kSharedPath;
    out.value = *a->path;
  }
  out.manifest = a->manifest;
  return out;
}

std::optional<store::AssetRef> AssetFrom(const ArtifactSource& s, const std::string& blob_dir) {
  if (s.kind == ArtifactSource::Kind::kNone) return std::nullopt;
  store::AssetRef a;
  if (s.kind == ArtifactSource::Kind::kBlob) {
    a.blob_sha256 = absl::HexStringToBytes(s.value);
    a.blob_path = absl::StrCat(blob_dir, "/", s.value.substr(0, 2), "/", s.value);
  } else {
    a.path = s.value;
  }
  a.manifest = s.manifest;
  return a;
}

JobRecord RecordFrom(const store::Job& j, const std::string& team) {
  JobRecord r;
  r.id = j.id;
  r.job.team_id = team;
  r.job.display_name = j.display_name;
  r.job.spec_json = j.spec_json;
  r.job.samples = j.samples;
  r.job.request_id = j.request_id.value_or("");
  if (j.device_name) r.job.device = *j.device_name;
  else r.job.device_class = j.device_class;
  r.state = j.state;
  r.stage = j.state == store::JobState::kRunning || j.state == store::JobState::kCancelling ? StageFrom(j.stage)
                                                                                             : JobStage::kNone;
  r.failure_reason = j.error.value_or("");
  r.attempts = j.attempts;
  if (j.worker) r.worker = "workers/" + *j.worker;
  r.create_time = j.created_at;
  if (j.started_at) r.start_time = *j.started_at;
  if (j.finished_at) r.end_time = *j.finished_at;
  return r;
}

// The team's job; another team's or a missing one is NOT_FOUND named as the API names it.
absl::StatusOr<store::Job> OwnedJob(store::Db& db, int64_t team, int64_t id) {
  auto job = store::GetJob(db, team, id);
  if (absl::IsNotFound(job.status())) return absl::NotFoundError(absl::StrCat("jobs/", id, ": not found"));
  return job;
}

qbench::v1::JobState ApiState(const std::string& name) {
  auto s = store::ParseJobState(name);
  return s ? ToApiState(*s) : qbench::v1::JOB_STATE_UNSPECIFIED;
}

}  // namespace

absl::StatusOr<int64_t> StoreRepository::TeamKey(const std::string& team_id) {
  {
    std::lock_guard<std::mutex> lock(teams_mu_);
    auto it = teams_.find(team_id);
    if (it != teams_.end()) return it->second;
  }
  QB_ASSIGN_OR_RETURN(int64_t key, pool_->Run(&store::FindTeam, team_id));
  std::lock_guard<std::mutex> lock(teams_mu_);
  teams_[team_id] = key;
  return key;
}

absl::StatusOr<JobRecord> StoreRepository::CreateJob(const NewJob& job) {
  QB_ASSIGN_OR_RETURN(int64_t team, TeamKey(job.team_id));
  store::NewJob n;
  n.team_id = team;
  if (!job.request_id.empty()) n.request_id = job.request_id;
  n.display_name = job.display_name;
  n.spec_json = job.spec_json;
  n.samples = job.samples;
  // The configuration as JSON: any name the spec allows ("bob's w8", "größe-w4") is a
  // JSON string here (finding 9 of issue 17: hand-escaped text was not).
  for (size_t i = 0; i < job.config_names.size(); ++i)
    n.configs.push_back(
        {job.config_names[i],
         nlohmann::json{{"name", job.config_names[i]}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
         i == 0});
  if (!job.device.empty()) n.device_name = job.device;
  if (!job.device_class.empty()) n.device_class = job.device_class;
  n.assets.model = AssetFrom(job.model, blob_dir_);
  n.assets.eval_dataset = AssetFrom(job.eval_dataset, blob_dir_);
  n.assets.calibration_dataset = AssetFrom(job.calibration_dataset, blob_dir_);
  auto created = pool_->Run(&store::CreateJob, n);
  if (!created.ok()) {
    // The spec's configurations were validated already; a request_id reused for another
    // spec is the caller's conflict.
    return created.status();
  }
  JobRecord r = RecordFrom(created->job, job.team_id);
  r.job.model = job.model;
  r.job.eval_dataset = job.eval_dataset;
  r.job.calibration_dataset = job.calibration_dataset;
  r.job.config_names = job.config_names;
  if (!created->created) {  // an earlier request made it: report what it stored
    auto assets = pool_->Run(&store::GetJobAssets, r.id);
    if (assets.ok()) {
      r.job.model = SourceFrom(assets->model);
      r.job.eval_dataset = SourceFrom(assets->eval_dataset);
      r.job.calibration_dataset = SourceFrom(assets->calibration_dataset);
    }
  }
  return r;
}

absl::StatusOr<JobRecord> StoreRepository::GetJob(const std::string& team_id, int64_t id) {
  QB_ASSIGN_OR_RETURN(int64_t team, TeamKey(team_id));
  return pool_->Run([&](store::Db& db) -> absl::StatusOr<JobRecord> {
    QB_ASSIGN_OR_RETURN(store::Job job, OwnedJob(db, team, id));
    JobRecord r = RecordFrom(job, team_id);
    QB_ASSIGN_OR_RETURN(store::JobAssets assets, store::GetJobAssets(db, id));
    r.job.model = SourceFrom(assets.model);
    r.job.eval_dataset = SourceFrom(assets.eval_dataset);
    r.job.calibration_dataset = SourceFrom(assets.calibration_dataset);
    if (r.state == JobState::kRunning || r.state == JobState::kCancelling) {
      QB_ASSIGN_OR_RETURN(std::vector<store::Progress> progress, store::CurrentProgress(db, id));
      for (const store::Progress& p : progress)
        r.progress.push_back({p.config, StageFrom(p.stage), p.done, p.total});
    }
    return r;
  });
}

absl::StatusOr<JobPage> StoreRepository::ListJobs(const std::string& team_id, const JobFilter& filter,
                                                  int32_t page_size, const std::string& page_token) {
  QB_ASSIGN_OR_RETURN(int64_t team, TeamKey(team_id));
  store::ListJobsRequest req;
  req.team_id = team;
  if (filter.state) req.state = *filter.state;
  req.display_name = filter.display_name;
  req.page_size = page_size;
  req.page_token = page_token;
  QB_ASSIGN_OR_RETURN(store::JobPage page, pool_->Run(&store::ListJobs, req));
  JobPage out;
  for (const store::Job& j : page.jobs) out.jobs.push_back(RecordFrom(j, team_id));
  out.next_page_token = page.next_page_token;
  return out;
}

absl::StatusOr<JobRecord> StoreRepository::CancelJob(const std::string& team_id, int64_t id) {
  QB_ASSIGN_OR_RETURN(int64_t team, TeamKey(team_id));
  auto job = pool_->Run(&store::CancelJob, team, id);
  if (!job.ok()) {
    if (absl::IsNotFound(job.status())) return absl::NotFoundError(absl::StrCat("jobs/", id, ": not found"));
    if (absl::IsFailedPrecondition(job.status()))
      return absl::FailedPreconditionError(absl::StrCat("jobs/", id, ": cannot cancel, ", job.status().message()));
    return job.status();
  }
  return RecordFrom(*job, team_id);
}

absl::StatusOr<JobRepository::EventsPage> StoreRepository::ListEvents(const std::string& team_id, int64_t id,
                                                                       int64_t after_sequence) {
  QB_ASSIGN_OR_RETURN(int64_t team, TeamKey(team_id));
  return pool_->Run([&](store::Db& db) -> absl::StatusOr<EventsPage> {
    // The state first: when it is final, every event was committed before it.
    QB_ASSIGN_OR_RETURN(store::Job job, OwnedJob(db, team, id));
    QB_ASSIGN_OR_RETURN(std::vector<store::JobEvent> events, store::ListJobEvents(db, id));
    EventsPage page;
    page.ended = store::IsTerminal(job.state);
    std::optional<qbench::v1::JobResults> results;  // loaded once, when a result event is sent
    std::string last_error;
    int64_t sequence = 0;
    for (const store::JobEvent& e : events) {
      // Error events (a lost lease, a failure) are folded into the state change that
      // follows them as its reason, so sequence numbers count API events only.
      if (e.kind == "error") {
        last_error = e.message;
        continue;
      }
      if (++sequence <= after_sequence) {
        if (e.kind == "state") last_error.clear();
        continue;
      }
      qbench::v1::JobEvent out;
      out.set_sequence(sequence);
      SetTimestamp(e.at, out.mutable_time());
      if (e.kind == "state") {
        auto* sc = out.mutable_state_changed();
        sc->set_state(ApiState(e.state.value_or("")));
        sc->set_stage(static_cast<qbench::v1::Stage>(StageFrom(e.stage)));
        sc->set_reason(last_error.empty() ? e.message : absl::StrCat(last_error, " (", e.message, ")"));
        last_error.clear();
      } else if (e.kind == "progress") {
        auto* p = out.mutable_progress();
        p->set_config(e.config.value_or(""));
        p->set_stage(static_cast<qbench::v1::Stage>(StageFrom(e.stage)));
        p->set_done(e.done.value_or(0));
        p->set_total(e.total.value_or(0));
        p->set_note(e.message);
      } else if (e.kind == "result") {
        if (!results) {
          QB_ASSIGN_OR_RETURN(qbench::v1::JobResults r, LoadResults(db, id));
          results = std::move(r);
        }
        bool found = false;
        for (const auto& c : results->configs())
          if (c.config() == e.config.value_or("")) {
            *out.mutable_result() = c;
            found = true;
            break;
          }
        if (!found) {
          out.mutable_result()->set_config(e.config.value_or(""));
          out.mutable_result()->set_error(e.message == "result" ? "" : e.message);
        }
      }
      page.events.push_back(std::move(out));
    }
    return page;
  });
}

absl::StatusOr<std::vector<int64_t>> StoreRepository::WaitForEvents(absl::Duration timeout) {
  std::lock_guard<std::mutex> lock(listen_mu_);
  if (listener_ == nullptr) {
    auto listener = store::QueueListener::Create(db_uri_, store::kJobEventsChannel);
    if (!listener.ok()) return store::DbPool::ForClients(listener.status());  // as pool_->Run does
    listener_ = *std::move(listener);
  }
  auto woke = listener_->Wait(timeout);
  if (!woke.ok()) {
    listener_.reset();  // reconnect on the next call
    return store::DbPool::ForClients(woke.status());
  }
  std::vector<int64_t> ids;
  for (const std::string& p : listener_->TakePayloads()) {
    int64_t id = 0;
    if (absl::SimpleAtoi(p, &id)) ids.push_back(id);
  }
  return ids;
}

absl::StatusOr<qbench::v1::JobResults> StoreRepository::GetResults(const std::string& team_id, int64_t id) {
  QB_ASSIGN_OR_RETURN(int64_t team, TeamKey(team_id));
  return pool_->Run([&](store::Db& db) -> absl::StatusOr<qbench::v1::JobResults> {
    QB_ASSIGN_OR_RETURN(store::Job job, OwnedJob(db, team, id));
    QB_ASSIGN_OR_RETURN(qbench::v1::JobResults r, LoadResults(db, id));
    r.set_state(ToApiState(job.state));
    return r;
  });
}

absl::StatusOr<JobRepository::ExportBlob> StoreRepository::FindExport(const std::string& team_id, int64_t id,
                                                                      const std::string& config) {
  QB_ASSIGN_OR_RETURN(int64_t team, TeamKey(team_id));
  return pool_->Run([&](store::Db& db) -> absl::StatusOr<ExportBlob> {
    QB_RETURN_IF_ERROR(OwnedJob(db, team, id).status());
    QB_ASSIGN_OR_RETURN(store::ExportRef e, store::FindExport(db, id, config));
    return ExportBlob{HexEncode(e.sha256), e.size};
  });
}

absl::Status StoreRepository::Add(const std::string& team_id, const std::string& sha256_hex, int64_t size) {
  QB_ASSIGN_OR_RETURN(int64_t team, TeamKey(team_id));
  return pool_->Run(&store::AddBlobOwner, team, absl::HexStringToBytes(sha256_hex), size);
}

absl::StatusOr<bool> StoreRepository::Owns(const std::string& team_id, const std::string& sha256_hex) {
  if (!IsSha256Hex(sha256_hex)) return false;
  QB_ASSIGN_OR_RETURN(int64_t team, TeamKey(team_id));
  return pool_->Run(&store::TeamOwnsBlob, team, absl::HexStringToBytes(sha256_hex));
}

absl::StatusOr<bool> StoreRepository::HeldByAWorker(const std::string& sha256_hex) {
  if (!IsSha256Hex(sha256_hex)) return false;
  return pool_->Run(&store::BlobOfAHeldJob, absl::HexStringToBytes(sha256_hex));
}

absl::Status StoreRepository::CreateTeam(const std::string& team_id, const std::string& display_name) {
  auto id = pool_->Run(&store::CreateTeam, team_id, display_name);
  if (!id.ok() && absl::IsAlreadyExists(id.status()))
    return absl::AlreadyExistsError(absl::StrCat("teams/", team_id, ": already exists"));
  return id.status();
}

absl::StatusOr<int64_t> StoreRepository::CreateToken(const std::string& team_id, const std::string& display_name,
                                                     bool admin, bool worker, const std::string& secret_sha256,
                                                     std::optional<absl::Time> expires) {
  std::optional<int64_t> expires_us;
  if (expires) expires_us = absl::ToUnixMicros(*expires);
  auto id = pool_->Run(&store::CreateTokenForDigest, team_id, display_name.empty() ? std::string("token") : display_name,
                       admin ? store::TokenRole::kAdmin : worker ? store::TokenRole::kWorker : store::TokenRole::kTeam,
                       absl::HexStringToBytes(secret_sha256), expires_us);
  if (!id.ok() && absl::IsNotFound(id.status()))
    return absl::NotFoundError(absl::StrCat("parent: teams/", team_id, " not found"));
  return id;
}

absl::Status StoreRepository::RevokeToken(const std::string& team_id, int64_t token_id) {
  return pool_->Run(&store::RevokeTeamToken, team_id, token_id);
}

absl::StatusOr<qbench::v1::ListDevicesResponse> StoreRepository::ListWorkers(int32_t page_size,
                                                                            const std::string& page_token) {
  std::string after;
  if (!page_token.empty() && !absl::WebSafeBase64Unescape(page_token, &after))
    return absl::InvalidArgumentError("page_token: malformed");
  QB_ASSIGN_OR_RETURN(std::vector<store::WorkerRecord> workers, pool_->Run(&store::ListWorkers, absl::Hours(24)));
  qbench::v1::ListDevicesResponse out;
  const absl::Time now = absl::Now();
  std::string last_id;
  for (const store::WorkerRecord& w : workers) {  // ordered by id
    if (!after.empty() && w.info.id <= after) continue;
    if (out.workers_size() == page_size) {  // a worker remains: the next page starts after the last sent
      out.set_next_page_token(absl::WebSafeBase64Escape(last_id));
      break;
    }
    last_id = w.info.id;
    auto* o = out.add_workers();
    o->set_name("workers/" + w.info.id);
    o->set_host(w.info.host);
    o->set_cpu_model(w.info.cpu_model);
    o->set_isa(w.info.isa);
    o->set_cores(w.info.cores);
    o->set_onednn_version(w.info.onednn_version);
    for (const std::string& m : w.info.energy_meters) o->add_energy_meters(m);
    for (const store::Device& d : w.info.devices) {
      auto* dev = o->add_devices();
      dev->set_name(absl::StrCat("workers/", w.info.id, "/devices/", d.name));
      dev->set_device_class(d.device_class);
      dev->set_description(d.attributes_json);
      SetAttachedFields(d.attributes_json, dev);
    }
    SetTimestamp(w.last_heartbeat, o->mutable_last_heartbeat_time());
    o->set_online(now - w.last_heartbeat < absl::Minutes(1));
  }
  return out;
}

}  // namespace qbench::server
