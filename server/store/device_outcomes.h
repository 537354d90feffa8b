// Figures of each configuration on each attached device (0009_attached_devices.sql,
// docs/devices.md): accuracy on the job's test samples, the paired delta against the same
// device's FP32 run, how many samples' top-1 differs from the engine's run, the runtime
// that ran it, or why it failed there. Latency rows are ordinary results rows under the
// device's name (results.h). Written by the worker before the configuration's outcome
// (outcomes.h), whose "result" event watchers react to; a new claim deletes them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/store/db.h"
#include "server/store/outcomes.h"
#include "server/store/queue.h"

namespace qbench::store {

struct DeviceOutcome {
  std::string config;  // a job_configs name
  std::string device;  // "workers/<id>/devices/<device id>"
  std::string device_class, runner, runtime, runtime_version, provider;
  std::string error;   // non-empty: the configuration failed on this device; no figures
  std::vector<std::string> notes;
  int64_t samples = 0;
  std::optional<double> top1, top5;
  std::optional<int64_t> top1_hits, top5_hits, tied_top1;
  std::optional<double> agreement, sqnr_db;   // against this device's FP32 run
  std::optional<PairedDelta> vs_baseline;     // the same; absent for the baseline
  std::string delta_interval_method, delta_test_method;
  std::optional<int64_t> differs_from_engine;
  std::optional<double> seconds;
};

// INSERT ... ON CONFLICT (job, config, device) DO UPDATE. INVALID_ARGUMENT for an empty
// config or device or negative samples, NOT_FOUND for an unknown configuration,
// FAILED_PRECONDITION when the lease was lost.
absl::Status UpsertDeviceOutcome(Db& db, const Lease& lease, const DeviceOutcome& outcome);

// A job's device outcomes by configuration order, then device.
absl::StatusOr<std::vector<DeviceOutcome>> ListDeviceOutcomes(Db& db, int64_t job_id);

}  // namespace qbench::store
