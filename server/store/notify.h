// Wakes idle workers when a job becomes claimable: LISTEN on kQueueChannel over a
// dedicated connection. Notifications can be lost (a reconnect drops the LISTEN), so a
// worker still polls: Wait returns after `timeout` at the latest and the worker claims.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace qbench::store {

// Job events (0002_service.sql): payload is the job id.
inline constexpr char kJobEventsChannel[] = "qbench_job_events";

class QueueListener {
 public:
  // Opens its own connection and LISTENs on `channel` (kQueueChannel by default).
  // UNAVAILABLE when the server is unreachable.
  static absl::StatusOr<std::unique_ptr<QueueListener>> Create(const std::string& uri,
                                                               const std::string& channel = "qbench_jobs");
  ~QueueListener();

  // Blocks until a job notification arrives (true) or `timeout` passes (false).
  // UNAVAILABLE when the connection broke; the next call reconnects and listens again.
  absl::StatusOr<bool> Wait(absl::Duration timeout);

  // The payloads received so far (in order), emptying the list.
  std::vector<std::string> TakePayloads();

 private:
  struct Impl;
  explicit QueueListener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace qbench::store
