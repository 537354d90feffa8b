// How the worker daemon is configured: where PostgreSQL is (the queue, heartbeats and
// results go straight to the store), which qbench-server serves blobs (downloads of
// inputs, uploads of exports), and the timing of leases, polling and retries. One flag
// table drives parsing and --help (worker/main.cc merges it with the local mode's).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/connection.h"
#include "common/flags.h"
#include "engine/device/device.h"
#include "spec/job_spec.h"

namespace qbench::worker {

struct DaemonOptions {
  std::string db_uri;                        // libpq URI of the QBench database (required)
  std::optional<client::Connection> server;  // none: no blob downloads or export uploads
  std::string id;                            // worker id; empty: the hostname
  std::string cache_dir;                     // empty: $XDG_CACHE_HOME/qbench or ~/.cache/qbench
  absl::Duration lease = absl::Seconds(30);  // renewed every lease/3 while a job runs
  absl::Duration poll = absl::Seconds(5);    // longest idle wait between claims
  absl::Duration db_retry = absl::Seconds(120);  // how long a job's store call retries UNAVAILABLE/ABORTED
  bool once = false;                         // exit after one job
  int64_t max_jobs = 0;                      // exit after this many jobs; 0: no limit
  // Caps on each job spec (--job-limit NAME=N, as on the server); the job runner parses
  // with them, and stops a job after its max_job_seconds.
  JobSpecLimits spec_limits;
  // Folders that jobs' shared paths (and the manifests and files they name) must resolve
  // into (--shared-root DIR, repeatable). Empty, the default: no shared paths, only blobs
  // uploaded through the server.
  std::vector<std::string> shared_roots;
  // Attached devices (--device, --devices; docs/devices.md), described by their runners
  // at start. Jobs whose spec names devices are claimed only when every one of them is
  // here (by id or class); each configuration is then measured on them too.
  std::vector<device::Device> devices;
};

inline constexpr FlagSpec kDaemonFlags[] = {
    {"--db", "URI", "daemon mode: claim jobs from the QBench PostgreSQL database at URI"},
    {"--server", "HOST:PORT", "qbench-server for blob downloads and export uploads"},
    {"--insecure", nullptr, "plaintext connection to --server (local use only)"},
    {"--ca", "FILE", "PEM roots for TLS to --server (default: system roots)"},
    {"--token-file", "FILE", "file holding the worker's API token (admin token create --worker); default $QBENCH_TOKEN"},
    {"--id", "ID", "worker id (default: the hostname)"},
    {"--cache-dir", "DIR", "blob and dataset cache (default $XDG_CACHE_HOME/qbench or ~/.cache/qbench)"},
    {"--lease-seconds", "N", "job lease, renewed every N/3 s (default 30)"},
    {"--poll-seconds", "N", "longest idle wait between claims (default 5)"},
    {"--db-retry-seconds", "N", "retry an unavailable database this long during a job (default 120)"},
    {"--once", nullptr, "exit after one job"},
    {"--max-jobs", "N", "exit after N jobs"},
    {"--job-limit", "NAME=N", "cap a job spec value, as qbench-server --job-limit (repeatable)"},
    {"--shared-root", "DIR", "jobs may read shared paths under DIR (repeatable; default none: uploads only)"},
};

// Builds the options from parsed (flag, value) pairs; flags that are not daemon flags are
// ignored. INVALID_ARGUMENT naming the flag for a bad value, a missing --db, or TLS flags
// without --server; NOT_FOUND for an unreadable token file.
absl::StatusOr<DaemonOptions> DaemonOptionsFromFlags(const std::vector<std::pair<std::string, std::string>>& flags);

// The default cache directory: $XDG_CACHE_HOME/qbench, else $HOME/.cache/qbench, else
// /tmp/qbench-cache.
std::string DefaultCacheDir();

}  // namespace qbench::worker
