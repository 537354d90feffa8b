// Keeps a claimed job's lease alive while the engine runs it: a thread with its own
// database connection (a Db is not thread-safe) renews the lease every lease/3 and
// heart-beats the worker, and raises flags (JobFlags) the job polls between batches:
// cancel_requested (the user cancelled; RenewLease said so) and lost (the lease was
// taken back: the job must stop and write nothing more). While the database is
// unreachable it retries every second; a lease that expires meanwhile shows up as lost.
// In an engine child process (engine_process.h) the same flags are raised by the parent.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/store/queue.h"

namespace qbench::worker {

// What a running job polls between batches.
struct JobFlags {
  std::atomic<bool> cancel_requested{false};  // the user cancelled: stop, FinishCancelled
  std::atomic<bool> lost{false};              // the lease was taken back: stop, write nothing
  std::atomic<bool> stop{false};              // the worker is shutting down: hand the job back
};

class LeaseKeeper {
 public:
  // Starts the thread at once; raises `flags` (which must outlive it).
  LeaseKeeper(std::string db_uri, store::Lease lease, absl::Duration duration, JobFlags* flags);
  ~LeaseKeeper();  // stops and joins the thread
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

 private:
  void Loop();

  const std::string db_uri_;
  const store::Lease lease_;
  const absl::Duration duration_;
  JobFlags* const flags_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace qbench::worker
