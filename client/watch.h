// Following a job live over WatchJob: one line per event, reconnecting after a broken
// stream from the last sequence number seen, so no event is printed twice or lost.
#pragma once

#include <iosfwd>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/connection.h"
#include "qbench/v1/qbench.pb.h"

namespace qbench::client {

struct WatchOptions {
  // Consecutive failed reconnects (no event in between) before giving up.
  int max_reconnects = 10;
  absl::Duration first_backoff = absl::Seconds(1), max_backoff = absl::Seconds(15);
};

// Prints "[HH:MM:SS] <event>" lines to `out` until the job's stream ends, notes
// reconnects on `err`, and returns the job as GetJob reports it then.
absl::StatusOr<qbench::v1::Job> FollowJob(const Connection& c, const std::string& job, std::ostream& out,
                                          std::ostream& err, const WatchOptions& options = {});

// GetResults, retried like the watch on UNAVAILABLE.
absl::StatusOr<qbench::v1::JobResults> FetchResults(const Connection& c, const std::string& job);

}  // namespace qbench::client
