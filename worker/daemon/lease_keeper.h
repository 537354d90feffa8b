// Keeps a claimed job's lease alive while the engine runs it: a thread with its own
// database connection (a Db is not thread-safe) renews the lease every lease/3 and
// heart-beats the worker, and raises flags the job polls between batches:
// cancel_requested (the user cancelled; RenewLease said so) and lost (the lease was
// taken back: the job must stop and write nothing more). While the database is
// unreachable it retries every second; a lease that expires meanwhile shows up as lost.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/store/queue.h"

namespace qbench::worker {

class LeaseKeeper {
 public:
  // Starts the thread at once.
  LeaseKeeper(std::string db_uri, store::Lease lease, absl::Duration duration);
  ~LeaseKeeper();  // stops and joins the thread
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  bool cancel_requested() const { return cancel_requested_.load(); }
  bool lost() const { return lost_.load(); }
  // The job thread found the lease lost itself (a write returned FAILED_PRECONDITION).
  void MarkLost() { lost_.store(true); }

 private:
  void Loop();

  const std::string db_uri_;
  const store::Lease lease_;
  const absl::Duration duration_;
  std::atomic<bool> cancel_requested_{false};
  std::atomic<bool> lost_{false};
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace qbench::worker
