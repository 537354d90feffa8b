// Workers and their devices, from registration and heartbeats (the devices list of the API).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/store/db.h"

namespace qbench::store {

struct Device {
  std::string name;                // unique per worker, e.g. "cpu0"
  std::string device_class;        // what jobs target, e.g. "cpu"
  std::string attributes_json = "{}";
};

struct WorkerInfo {
  std::string id;  // stable worker id (non-empty)
  std::string host;
  std::string cpu_model;
  std::string isa;  // the ISA oneDNN picked, e.g. "avx512_core_vnni"
  int cores = 0;
  std::string onednn_version;
  std::vector<std::string> energy_meters;  // e.g. {"rapl"}
  std::vector<Device> devices;
};

struct WorkerRecord {
  WorkerInfo info;
  absl::Time last_heartbeat;
};

// Inserts or updates the worker and replaces its device list. INVALID_ARGUMENT for an
// empty id or host, a device with an empty name or class, or a device name given twice.
absl::Status RegisterWorker(Db& db, const WorkerInfo& worker);

// Records a heartbeat (last_heartbeat = now()). NOT_FOUND for an unregistered worker.
absl::Status WorkerHeartbeat(Db& db, const std::string& worker_id);

// Workers whose last heartbeat is within `max_age`, with their devices, ordered by id.
absl::StatusOr<std::vector<WorkerRecord>> ListWorkers(Db& db, absl::Duration max_age);

}  // namespace qbench::store
