// Who this worker is, as the store's workers/devices tables and the queue see it: its
// id, host, CPU, the ISA oneDNN picked, readable energy meters, its own device (cpu0,
// oneDNN) and its attached devices (docs/devices.md). The
// daemon registers it at start and after reconnects, and claims jobs with its device
// classes and names.
#pragma once

#include <string>
#include <vector>

#include "engine/device/device.h"
#include "server/store/workers.h"

namespace qbench::worker {

inline constexpr char kDeviceId[] = "cpu0";

struct WorkerIdentity {
  store::WorkerInfo info;                   // id, host, cpu, isa, cores, oneDNN, meters, devices
  std::vector<std::string> device_classes;  // {"cpu", "cpu-<isa>"}, e.g. "cpu-avx512_core_vnni"
  std::vector<std::string> device_names;    // {"workers/<id>/devices/cpu0"}
  std::string device;                       // the device results are stored under (device_names[0])
  std::string rapl_meter;                   // "rapl:package-0,dram"; empty: no readable RAPL
  // The ids and classes of the attached devices: a job is claimed only when its spec's
  // devices are all among them.
  std::vector<std::string> attached;
};

// The machine's hostname ("localhost" when it cannot be read).
std::string HostName();

// Describes this machine and its attached devices (listed after cpu0). `id` empty: the
// hostname.
WorkerIdentity DescribeWorker(const std::string& id, const std::vector<device::Device>& attached = {});

// The name results of attached device `device_id` are stored under:
// "workers/<worker id>/devices/<device id>".
std::string AttachedDeviceName(const WorkerIdentity& worker, const std::string& device_id);

}  // namespace qbench::worker
