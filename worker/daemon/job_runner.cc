#include "worker/daemon/job_runner.h"

#include <stdlib.h>

#include <filesystem>
#include <map>
#include <new>

#include <nlohmann/json.hpp>

#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/blob_client.h"
#include "server/store/device_outcomes.h"
#include "server/store/jobs.h"
#include "server/store/outcomes.h"
#include "server/store/results.h"
#include "server/store/search.h"
#include "worker/daemon/lease_keeper.h"
#include "worker/daemon/local_spec.h"
#include "worker/daemon/log.h"
#include "worker/daemon/store_retry.h"
#include "worker/daemon/store_rows.h"
#include "engine/pipeline/pipeline.h"

namespace qbench::worker {
namespace {

namespace fs = std::filesystem;

// A per-job directory for exports, removed with everything in it at the end.
class TempDir {
 public:
  explicit TempDir(int64_t job_id) {
    std::string templ = (fs::temp_directory_path() / absl::StrCat("qbench-job", job_id, "-XXXXXX")).string();
    if (::mkdtemp(templ.data()) != nullptr) path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class JobRun {
 public:
  JobRun(const RunnerContext& ctx, store::Db& db, const store::ClaimedJob& job, JobFlags& flags,
         absl::Time start = absl::Now())
      : ctx_(ctx),
        db_(db),
        job_(job),
        lease_(job.lease),
        name_(absl::StrCat("jobs/", job.lease.job_id)),
        start_(start),
        flags_(flags) {}

  JobEnd Run() {
    auto assets = Store("get job assets", [&] { return store::GetJobAssets(db_, lease_.job_id); });
    if (!assets.ok()) return Conclude(assets.status());
    std::unique_ptr<TempDir> exports;
    if (ctx_.options.server) {
      exports = std::make_unique<TempDir>(lease_.job_id);
      if (exports->path().empty()) return Fail("cannot create a temporary export directory");
    }
    auto spec = LocalJobSpec(job_, *assets, ctx_.cache, exports ? exports->path() : "", ctx_.options.spec_limits);
    if (!spec.ok()) return Fail(std::string(spec.status().message()));
    spec_ = &*spec;
    // The attempt's wall-clock limit: the spec's max_job_seconds or the worker's
    // --job-seconds, whichever is less. The engine stops at the next cancellation check;
    // an engine process that does not is killed by the parent a grace period later.
    const absl::Duration spec_limit = absl::Seconds(spec->max_job_seconds);
    wall_limit_ = std::min(spec_limit, ctx_.limits.wall);
    wall_limit_name_ = spec_limit < ctx_.limits.wall ? "the job's max_job_seconds" : "the worker's --job-seconds";
    if (ctx_.on_wall_limit) ctx_.on_wall_limit(wall_limit_);

    RunHooks hooks;
    hooks.progress = [this](const std::string& config, RunStage stage, int64_t done, int64_t total) {
      OnProgress(config, stage, done, total);
    };
    hooks.config_done = [this](const ConfigResult& c) { OnConfigDone(c); };
    hooks.cancelled = [this] { return ShouldStop(); };
    if (spec->search.enabled) {
      if (absl::Status s = LoadStoredCandidates(*spec); !s.ok()) return Conclude(s);
      hooks.stored_candidate = [this](const std::string& key) { return StoredCandidate(key); };
      hooks.candidate_done = [this](const search::Candidate& c, const std::vector<search::Choice>& choices) {
        OnCandidate(c, choices);
      };
    }
    absl::StatusOr<JobResult> result = absl::UnknownError("not run");
    try {
      result = RunJob(*spec, hooks, ctx_.options.devices);
    } catch (const std::bad_alloc&) {
      result = absl::ResourceExhaustedError(absl::StrCat("out of memory ", Where(), " on worker ", lease_.worker_id,
                                                         " (over the engine's memory limit)"));
    } catch (const std::exception& e) {
      result = absl::InternalError(absl::StrCat("engine error ", Where(), ": ", e.what()));
    }
    if (!result.ok()) return Conclude(result.status());
    if (JobEnd end; Interrupted(&end)) return end;
    const std::string env = EnvironmentJson(*result, ctx_.worker);
    absl::Status s = Store("set environment", [&] { return store::SetJobEnvironment(db_, lease_, env); });
    if (s.ok() && result->search) s = FinishSearch(*result->search);
    if (s.ok()) {
      const std::string evaluation = EvaluationJson(result->split);
      s = Store("set evaluation", [&] { return store::SetJobEvaluation(db_, lease_, evaluation); });
    }
    if (s.ok()) s = Store("complete job", [&] { return store::CompleteJob(db_, lease_); });
    if (!s.ok()) return Conclude(s);
    if (flags_.cancel_requested.load()) return Ended(JobEnd::kCancelled, "the results so far are kept");
    return Ended(JobEnd::kSucceeded);
  }

  JobEnd Conclude(const absl::Status& status) {
    if (JobEnd end; Interrupted(&end)) return end;
    if (absl::IsCancelled(status) && timed_out_)
      return Fail(absl::StrCat("the job ran past its time limit of ", absl::FormatDuration(wall_limit_), " (",
                               wall_limit_name_, ") and was stopped ", Where()));
    if (absl::IsCancelled(status)) {
      if (flags_.cancel_requested.load()) {
        if (Store("finish cancelled", [&] { return store::FinishCancelled(db_, lease_); }).ok())
          return Ended(JobEnd::kCancelled);
      } else if (Store("release job", [&] { return store::ReleaseJob(db_, lease_); }).ok()) {
        return Ended(JobEnd::kReleased, "handed back to the queue (the worker is shutting down)");
      }
      JobEnd end = JobEnd::kLost;
      Interrupted(&end);
      return end;
    }
    if (status.GetPayload(kEngineCrashPayload)) return Crashed(std::string(status.message()));
    return Fail(std::string(status.message()));
  }

 private:
  // The engine crashed: another attempt, unless this was the last (then failed).
  JobEnd Crashed(const std::string& why) {
    auto s = Store("retry crashed attempt", [&] { return store::RetryCrashedAttempt(db_, lease_, why); });
    if (s.ok() && *s == "queued")
      return Ended(JobEnd::kReleased, absl::StrCat(why, "; queued again for attempt ", lease_.attempt + 1, " of ",
                                                   job_.max_attempts));
    if (s.ok() && *s == "cancelled") return Ended(JobEnd::kCancelled, why);
    if (s.ok()) return Ended(JobEnd::kFailed, absl::StrCat(why, " on its last attempt"));
    if (absl::IsFailedPrecondition(s.status())) return Ended(JobEnd::kLost, "the lease was lost; dropped");
    return Ended(JobEnd::kAbandoned, absl::StrCat("could not record the crash (", s.status().message(), "); dropped"));
  }

  // A store call with retries. FAILED_PRECONDITION marks the lease lost; a retryable
  // error that outlasted the budget abandons the job; any other error becomes the
  // job's failure reason. Once the lease is lost nothing more is written.
  template <typename Fn>
  auto Store(const char* what, Fn&& fn) -> decltype(fn()) {
    using R = decltype(fn());
    if (flags_.lost.load()) return R(absl::FailedPreconditionError(absl::StrCat(name_, ": lease lost")));
    R r = RetryStore(ctx_.options.db_retry, lease_.worker_id, what, fn);
    const absl::Status& s = StatusOf(r);
    if (absl::IsFailedPrecondition(s)) {
      flags_.lost.store(true);
    } else if (IsRetryableStoreError(s)) {
      abandoned_ = true;
    } else if (!s.ok() && abort_reason_.empty()) {
      abort_reason_ = absl::StrCat(what, ": ", s.message());
    }
    return r;
  }

  // "while running configuration \"w8a8\" (quantizing)", for reasons.
  std::string Where() const {
    if (config_.empty()) return "before the first configuration";
    return absl::StrCat("while running configuration \"", config_, "\"", stage_.empty() ? "" : " (", stage_,
                        stage_.empty() ? "" : ")");
  }

  bool ShouldStop() {
    if (!timed_out_ && absl::Now() - start_ > wall_limit_) timed_out_ = true;
    return timed_out_ || ctx_.stop.load() || flags_.stop.load() || flags_.cancel_requested.load() || flags_.lost.load() || abandoned_ ||
           !abort_reason_.empty();
  }

  // The job cannot be concluded normally: the lease is gone, the database is, or a write
  // failed for good.
  bool Interrupted(JobEnd* end) {
    if (flags_.lost.load()) {
      *end = Ended(JobEnd::kLost, "the lease was lost (the job was taken back); dropped without writing more");
      return true;
    }
    if (abandoned_) {
      *end = Ended(JobEnd::kAbandoned, absl::StrCat("the database was unreachable for over ",
                                                    absl::FormatDuration(ctx_.options.db_retry),
                                                    "; dropped (the lease expires and the job is retried)"));
      return true;
    }
    if (!abort_reason_.empty()) {
      *end = Fail(abort_reason_);
      return true;
    }
    return false;
  }

  JobEnd Fail(const std::string& reason) {
    absl::Status s = Store("fail job", [&] { return store::FailJob(db_, lease_, reason); });
    if (s.ok()) return Ended(JobEnd::kFailed, reason);
    if (absl::IsFailedPrecondition(s)) return Ended(JobEnd::kLost, "the lease was lost; dropped");
    return Ended(JobEnd::kAbandoned, absl::StrCat("could not record the failure (", s.message(), "); dropped"));
  }

  // Logs "jobs/12 succeeded in 12.3 s[: detail]".
  JobEnd Ended(JobEnd end, const std::string& detail = "") {
    Log(lease_.worker_id, absl::StrFormat("%s %s in %.1f s%s", name_, JobEndName(end),
                                          absl::ToDoubleSeconds(absl::Now() - start_),
                                          detail.empty() ? "" : absl::StrCat(": ", detail)));
    return end;
  }

  // At most one progress event per configuration and second, plus every stage change
  // and every stage's end. Best effort: a failed write is not retried.
  void OnProgress(const std::string& config, RunStage stage, int64_t done, int64_t total) {
    const std::string name = RunStageName(stage);
    if (config == kSearchBestConfig && stage == RunStage::kEvaluating) {
      search_done_ = done;
      search_total_ = total;
    }
    config_ = config;
    stage_ = name;
    if (ShouldStop()) return;
    Throttle& t = throttle_[config];
    const absl::Time now = absl::Now();
    if (name == t.stage && done < total && now - t.last < absl::Seconds(1)) return;
    if (ctx_.on_stage && name != t.stage) ctx_.on_stage(config, name);
    t.stage = name;
    t.last = now;
    absl::Status s = store::ReportProgress(db_, lease_, {config, name, done, total});
    if (absl::IsFailedPrecondition(s)) flags_.lost.store(true);
  }

  // Results and layers first, then the export, then the outcome: the outcome's "result"
  // event is what watchers react to.
  void OnConfigDone(const ConfigResult& c) {
    if (ctx_.on_stage) ctx_.on_stage(c.config.name, "done");
    if (ShouldStop()) return;
    for (const store::ResultRow& row : ResultRows(c, ctx_.worker))
      if (!Store("write result", [&] { return store::UpsertResult(db_, lease_, row); }).ok()) return;
    for (const DeviceResult& d : c.devices) {
      for (const store::ResultRow& row : DeviceResultRows(c, d, ctx_.worker))
        if (!Store("write device result", [&] { return store::UpsertResult(db_, lease_, row); }).ok()) return;
      const store::DeviceOutcome o = DeviceOutcomeRow(c, d, ctx_.worker);
      if (!Store("write device outcome", [&] { return store::UpsertDeviceOutcome(db_, lease_, o); }).ok()) return;
      // A runner's stderr is for whoever runs the worker, never for clients.
      if (!d.error.empty())
        Log(lease_.worker_id, absl::StrCat(name_, ": ", c.config.name, " failed on ", d.id, ": ", d.error,
                                           d.log.empty() ? "" : "; the runner's stderr ends: ",
                                           d.log.substr(d.log.size() > 2000 ? d.log.size() - 2000 : 0)));
    }
    const std::vector<store::LayerResult> layers = LayerRows(c, spec_->sensitivity);
    if (!layers.empty() &&
        !Store("write layer results", [&] { return store::UpsertLayerResults(db_, lease_, c.config.name, layers); }).ok())
      return;
    store::ConfigOutcome outcome = Outcome(c, ctx_.worker.device);
    if (!c.exported.empty() && ctx_.options.server) {
      auto up = client::UploadFile(*ctx_.options.server, c.exported);
      if (up.ok()) {
        const store::ExportRef ref{absl::HexStringToBytes(up->sha256), up->size};
        if (!Store("record export", [&] { return store::RecordExport(db_, lease_, c.config.name, ref); }).ok()) return;
      } else {
        outcome.notes.push_back(absl::StrCat("the QDQ export could not be uploaded: ", up.status().message()));
        Log(lease_.worker_id, absl::StrCat(name_, ": export of ", c.config.name, " not uploaded: ", up.status().message()));
      }
    }
    if (!Store("write config outcome", [&] { return store::UpsertConfigOutcome(db_, lease_, outcome); }).ok()) return;
    Log(lease_.worker_id, c.error.empty() ? absl::StrFormat("%s: %s done, top-1 %.4f", name_, c.config.name, c.accuracy.top1)
                                          : absl::StrCat(name_, ": ", c.config.name, " could not run: ", c.error));
  }

  // Search (issue 14): the candidates earlier attempts stored, by key. Only those measured
  // on this hardware are reused; the others are measured again.
  absl::Status LoadStoredCandidates(const JobSpec& spec) {
    hardware_ = SearchHardware(ctx_.worker, spec.threads);
    auto rows = Store("list search candidates", [&] { return store::ListSearchCandidates(db_, lease_.job_id); });
    if (!rows.ok()) return rows.status();
    for (store::SearchCandidateRow& r : *rows) {
      if (r.hardware != hardware_) {
        ++stored_elsewhere_;
        continue;
      }
      search::Candidate c;
      if (!search::CandidateFromJson(nlohmann::json::parse(r.candidate_json, nullptr, false), &c) || c.key != r.key)
        continue;
      stored_[r.key] = std::move(c);
    }
    if (!rows->empty())
      Log(lease_.worker_id, absl::StrCat(name_, ": ", rows->size(), " search candidates stored by earlier attempts (",
                                         stored_.size(), " reusable on this hardware)"));
    return absl::OkStatus();
  }

  std::optional<search::Candidate> StoredCandidate(const std::string& key) {
    auto it = stored_.find(key);
    if (it == stored_.end()) return std::nullopt;
    Seen(it->second);
    return it->second;
  }

  // Each candidate is stored as soon as it is measured, so that the best so far is never
  // lost and a later attempt can resume; watchers get a progress line with it.
  void OnCandidate(const search::Candidate& c, const std::vector<search::Choice>& choices) {
    if (ShouldStop()) return;
    const store::SearchCandidateRow row = CandidateRow(c, choices, hardware_);
    if (!Store("write search candidate", [&] { return store::UpsertSearchCandidate(db_, lease_, row); }).ok()) return;
    Seen(c);
    std::vector<search::Candidate> front;
    for (const auto& [key, x] : seen_) front.push_back(x);
    search::MarkParetoFront(&front);
    const search::Candidate* best = nullptr;
    int on_front = 0;
    for (const search::Candidate& x : front) {
      on_front += x.on_front;
      if (x.timed && x.within_budget && (!best || x.objective < best->objective)) best = &x;
    }
    std::string note = absl::StrFormat("%s %s: drop %.2f [%.2f, %.2f] points%s", c.strategy, c.key, c.drop_points,
                                       -c.ci_high, -c.ci_low,
                                       c.timed ? absl::StrFormat(", objective %.3f", c.objective) : std::string());
    if (best)
      absl::StrAppend(&note, absl::StrFormat("; best so far %s (objective %.3f, drop %.2f)", best->key,
                                             best->objective, best->drop_points));
    absl::StrAppend(&note, "; ", seen_.size(), " candidates, ", on_front, " on the front");
    store::Progress p{kSearchBestConfig, RunStageName(RunStage::kEvaluating), search_done_, search_total_, note};
    if (absl::IsFailedPrecondition(store::ReportProgress(db_, lease_, p))) flags_.lost.store(true);
  }

  void Seen(const search::Candidate& c) {
    search::Candidate& s = seen_[c.key];
    if (s.key.empty() || c.timed) s = c;
  }

  absl::Status FinishSearch(const SearchResult& r) {
    const std::string summary =
        SearchSummaryJson(r, static_cast<int64_t>(stored_.size()), stored_elsewhere_);
    std::vector<std::string> front;
    for (const search::Candidate& c : r.candidates)
      if (c.on_front) front.push_back(c.key);
    Log(lease_.worker_id, absl::StrCat(name_, ": search done: ", r.candidates.size(), " candidates (", r.reused,
                                       " reused), ", front.size(), " on the front"));
    return Store("finish search", [&] { return store::FinishSearch(db_, lease_, summary, front); });
  }

  struct Throttle {
    std::string stage;
    absl::Time last = absl::InfinitePast();
  };

  const RunnerContext& ctx_;
  store::Db& db_;
  const store::ClaimedJob& job_;
  const store::Lease lease_;
  const std::string name_;
  const absl::Time start_;
  JobFlags& flags_;
  const JobSpec* spec_ = nullptr;
  std::map<std::string, Throttle> throttle_;
  absl::Duration wall_limit_ = absl::InfiniteDuration();
  const char* wall_limit_name_ = "";
  bool timed_out_ = false;     // past wall_limit_: the engine is being stopped
  std::string config_, stage_;  // what the engine reported last
  bool abandoned_ = false;    // the database stayed away past the retry budget
  std::string abort_reason_;  // a write failed for good: the job fails with this
  std::string hardware_;      // SearchHardware of this attempt
  std::map<std::string, search::Candidate> stored_;  // reusable stored candidates by key
  int64_t stored_elsewhere_ = 0;                     // stored ones measured on other hardware
  std::map<std::string, search::Candidate> seen_;    // this attempt's candidates so far
  int64_t search_done_ = 0, search_total_ = 0;       // the search's last progress counts
};

}  // namespace

const char* JobEndName(JobEnd end) {
  static constexpr const char* kNames[] = {"succeeded", "failed", "cancelled", "released", "lost", "abandoned"};
  return kNames[static_cast<int>(end)];
}

JobEnd RunClaimedJob(const RunnerContext& ctx, store::Db& db, const store::ClaimedJob& job) {
  Log(job.lease.worker_id, absl::StrCat("claimed jobs/", job.lease.job_id, " attempt ", job.lease.attempt, " (",
                                        job.configs.size(), " configurations)"));
  if (!ctx.limits.engine_binary.empty()) return RunJobInEngineProcess(ctx, db, job);
  JobFlags flags;
  LeaseKeeper keeper(ctx.options.db_uri, job.lease, ctx.options.lease, &flags);
  return RunJobHere(ctx, db, job, flags);
}

JobEnd RunJobHere(const RunnerContext& ctx, store::Db& db, const store::ClaimedJob& job, JobFlags& flags) {
  return JobRun(ctx, db, job, flags).Run();
}

absl::Status EngineCrashError(const std::string& why) {
  absl::Status s = absl::InternalError(why);
  s.SetPayload(kEngineCrashPayload, absl::Cord("1"));
  return s;
}

JobEnd ConcludeJob(const RunnerContext& ctx, store::Db& db, const store::ClaimedJob& job, JobFlags& flags,
                   const absl::Status& status, absl::Time start) {
  return JobRun(ctx, db, job, flags, start).Conclude(status);
}

}  // namespace qbench::worker
