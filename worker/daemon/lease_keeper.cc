#include "worker/daemon/lease_keeper.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "server/store/db.h"
#include "server/store/workers.h"
#include "worker/daemon/log.h"

namespace qbench::worker {

LeaseKeeper::LeaseKeeper(std::string db_uri, store::Lease lease, absl::Duration duration, JobFlags* flags)
    : db_uri_(std::move(db_uri)),
      lease_(std::move(lease)),
      duration_(duration),
      flags_(flags),
      thread_([this] { Loop(); }) {}

LeaseKeeper::~LeaseKeeper() {
  stop_.Notify();
  thread_.join();
}

void LeaseKeeper::Loop() {
  const absl::Duration period = duration_ / 3;
  const absl::Duration retry = std::min(period, absl::Seconds(1));
  const std::string job = absl::StrCat("jobs/", lease_.job_id);
  std::unique_ptr<store::Db> db;
  bool failing = false;  // log the first failure of a streak only
  absl::Duration wait = period;
  while (!stop_.WaitForNotificationWithTimeout(wait)) {
    wait = retry;
    if (!db) {
      auto c = store::Db::Connect(db_uri_);
      if (!c.ok()) {
        if (!failing) Log(lease_.worker_id, absl::StrCat(job, ": heartbeat cannot connect: ", c.status().message()));
        failing = true;
        continue;
      }
      db = std::move(*c);
    }
    auto renewed = store::RenewLease(*db, lease_, duration_);
    if (renewed.ok()) {
      if (failing) Log(lease_.worker_id, absl::StrCat(job, ": heartbeat renewed the lease again"));
      failing = false;
      if (renewed->cancel_requested && !flags_->cancel_requested.exchange(true))
        Log(lease_.worker_id, absl::StrCat(job, ": cancel requested"));
      (void)store::WorkerHeartbeat(*db, lease_.worker_id);  // the devices list; best effort
      wait = period;
    } else if (absl::IsFailedPrecondition(renewed.status())) {
      flags_->lost.store(true);
      return;  // nothing more to renew
    } else {
      if (!failing) Log(lease_.worker_id, absl::StrCat(job, ": heartbeat failed: ", renewed.status().message()));
      failing = true;
    }
  }
}

}  // namespace qbench::worker
