// Retrying store calls across a PostgreSQL restart. The store returns UNAVAILABLE when
// the connection broke (libpqxx reconnects on a later call) and ABORTED for a
// serialization conflict; both are worth repeating as is. Everything else is returned at
// once, FAILED_PRECONDITION (the lease was lost) in particular.
#pragma once

#include <algorithm>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "worker/daemon/log.h"

namespace qbench::worker {

inline bool IsRetryableStoreError(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable || s.code() == absl::StatusCode::kAborted;
}

inline const absl::Status& StatusOf(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

// Runs fn() (returning absl::Status or absl::StatusOr<T>) until it succeeds, fails with a
// non-retryable code, or `budget` has passed; waits 0.25 s, 0.5 s, ... up to 5 s between
// tries. The first retryable failure is logged under `worker_id` with `what`.
template <typename Fn>
auto RetryStore(absl::Duration budget, const std::string& worker_id, const char* what, Fn&& fn) -> decltype(fn()) {
  const absl::Time deadline = absl::Now() + budget;
  absl::Duration delay = absl::Milliseconds(250);
  bool logged = false;
  for (;;) {
    auto result = fn();
    const absl::Status& s = StatusOf(result);
    if (!IsRetryableStoreError(s)) {
      if (logged && s.ok()) Log(worker_id, std::string("database is back: ") + what + " succeeded");
      return result;
    }
    if (absl::Now() + delay > deadline) {
      Log(worker_id, std::string("giving up: ") + what + ": " + std::string(s.message()));
      return result;
    }
    if (!logged) {
      Log(worker_id, std::string(what) + ": " + std::string(s.message()) + "; retrying for up to " +
                         absl::FormatDuration(budget));
      logged = true;
    }
    absl::SleepFor(delay);
    delay = std::min(delay * 2, absl::Seconds(5));
  }
}

}  // namespace qbench::worker
