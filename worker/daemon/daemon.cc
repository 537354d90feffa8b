#include "worker/daemon/daemon.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "server/store/db.h"
#include "server/store/notify.h"
#include "server/store/queue.h"
#include "server/store/workers.h"
#include "worker/daemon/asset_cache.h"
#include "worker/daemon/describe.h"
#include "worker/daemon/job_runner.h"
#include "worker/daemon/log.h"
#include "worker/daemon/store_retry.h"

namespace qbench::worker {
namespace {

class Daemon {
 public:
  Daemon(const DaemonOptions& options, const JobLimits& limits, const std::atomic<bool>& stop)
      : options_(options),
        limits_(limits),
        stop_(stop),
        worker_(DescribeWorker(options.id, options.devices)),
        cache_(options.cache_dir.empty() ? DefaultCacheDir() : options.cache_dir, options.server, options.shared_roots) {}

  absl::Status Run() {
    Log(id(), absl::StrCat("starting on ", worker_.info.host, " (", worker_.info.cpu_model, ", oneDNN ",
                           worker_.info.onednn_version, ", ISA ", worker_.info.isa, ", energy ",
                           worker_.rapl_meter.empty() ? "estimated" : worker_.rapl_meter, "); classes ",
                           absl::StrJoin(worker_.device_classes, ", "),
                           worker_.attached.empty() ? std::string()
                                                    : absl::StrCat("; attached ", absl::StrJoin(worker_.attached, ", ")),
                           "; cache ", cache_.dir(),
                           options_.server ? absl::StrCat("; blobs via ", options_.server->server)
                                           : std::string("; no --server: shared paths and cached blobs only"),
                           limits_.engine_binary.empty()
                               ? std::string("; engine in-process")
                               : absl::StrCat("; engine in a child process per job (memory budget ",
                                              limits_.memory_bytes > 0 ? absl::StrCat(limits_.memory_bytes >> 20, " MiB")
                                                                       : std::string("half of RAM"),
                                              ", wall-clock limit ", absl::FormatDuration(limits_.wall), ")")));
    int64_t jobs = 0;
    absl::Duration backoff = absl::Milliseconds(250);
    while (!stop_.load()) {
      absl::Status s = Iterate(&jobs);
      if (s.ok()) {
        if (outage_) Log(id(), "database is back");
        outage_ = false;
        backoff = absl::Milliseconds(250);
        if ((options_.once && jobs >= 1) || (options_.max_jobs > 0 && jobs >= options_.max_jobs)) break;
        continue;
      }
      if (!IsRetryableStoreError(s)) {
        Log(id(), absl::StrCat("stopping: ", s.message()));
        return s;
      }
      // The database is away: wait it out, re-register when it is back.
      if (!outage_)
        Log(id(), absl::StrCat("database unavailable (", s.message(), "); retrying every ",
                               absl::FormatDuration(std::max(options_.poll, absl::Seconds(1))), " at most"));
      outage_ = true;
      db_.reset();
      registered_ = false;
      SleepUnlessStopped(backoff);
      backoff = std::min(backoff * 2, std::max(options_.poll, absl::Seconds(1)));
    }
    Log(id(), absl::StrCat("exiting after ", jobs, jobs == 1 ? " job" : " jobs"));
    return absl::OkStatus();
  }

 private:
  const std::string& id() const { return worker_.info.id; }

  // One round: (re)connect and register when needed, reap, claim and run one job or
  // wait for the queue. A retryable error means the database went away.
  absl::Status Iterate(int64_t* jobs) {
    if (!db_) {
      auto db = store::Db::Connect(options_.db_uri);
      if (!db.ok()) return db.status();
      db_ = std::move(*db);
    }
    if (!registered_) {
      if (absl::Status s = store::RegisterWorker(*db_, worker_.info); !s.ok()) return s;
      registered_ = true;
      Log(id(), "registered");
    }
    if (absl::Status s = store::WorkerHeartbeat(*db_, id()); !s.ok()) {
      if (!absl::IsNotFound(s)) return s;
      registered_ = false;  // the row was removed: register again next round
      return absl::OkStatus();
    }
    auto reaped = store::ReapExpired(*db_, store::RetryPolicy{});
    if (!reaped.ok()) return reaped.status();
    if (!reaped->requeued.empty() || !reaped->failed.empty() || !reaped->cancelled.empty())
      Log(id(), absl::StrCat("reaped expired leases: ", reaped->requeued.size(), " requeued, ", reaped->failed.size(),
                             " failed, ", reaped->cancelled.size(), " cancelled"));
    auto claimed = store::ClaimJob(*db_, id(), worker_.device_classes, worker_.device_names, options_.lease,
                                   worker_.attached);
    if (!claimed.ok()) return claimed.status();
    if (!*claimed) {
      WaitForWork();
      return absl::OkStatus();
    }
    RunClaimedJob(RunnerContext{options_, worker_, cache_, stop_, limits_}, *db_, **claimed);
    ++*jobs;
    return absl::OkStatus();
  }

  // Waits up to --poll-seconds for a queue notification, in slices so `stop` is seen
  // within half a second. Without a listener (the database refused it) it just sleeps.
  void WaitForWork() {
    if (!listener_) {
      auto l = store::QueueListener::Create(options_.db_uri);
      if (l.ok()) listener_ = std::move(*l);
    }
    const absl::Time deadline = absl::Now() + options_.poll;
    while (!stop_.load()) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return;
      const absl::Duration slice = std::min(left, absl::Milliseconds(500));
      if (!listener_) {
        absl::SleepFor(slice);
        continue;
      }
      auto woke = listener_->Wait(slice);
      if (!woke.ok()) {
        listener_.reset();  // reconnect next time
        SleepUnlessStopped(std::min(left, absl::Seconds(1)));
        return;
      }
      if (*woke) {
        listener_->TakePayloads();
        return;
      }
    }
  }

  void SleepUnlessStopped(absl::Duration d) {
    const absl::Time deadline = absl::Now() + d;
    while (!stop_.load() && absl::Now() < deadline) absl::SleepFor(std::min(deadline - absl::Now(), absl::Milliseconds(100)));
  }

  const DaemonOptions& options_;
  const JobLimits& limits_;
  const std::atomic<bool>& stop_;
  const WorkerIdentity worker_;
  AssetCache cache_;
  std::unique_ptr<store::Db> db_;
  std::unique_ptr<store::QueueListener> listener_;
  bool registered_ = false;
  bool outage_ = false;  // the database is away (logged once per outage)
};

}  // namespace

absl::Status RunDaemon(const DaemonOptions& options, const JobLimits& limits, const std::atomic<bool>& stop) {
  return Daemon(options, limits, stop).Run();
}

absl::Status RunDaemon(const DaemonOptions& options, const std::atomic<bool>& stop) {
  return RunDaemon(options, JobLimits{}, stop);
}

}  // namespace qbench::worker
