#include "worker/daemon/describe.h"

#include <unistd.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/device/protocol.h"
#include "engine/measure/nvml.h"
#include "engine/measure/rapl.h"
#include "engine/pipeline/pipeline.h"

namespace qbench::worker {

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

WorkerIdentity DescribeWorker(const std::string& id, const std::vector<device::Device>& attached) {
  const EnvironmentInfo env = DescribeEnvironment(/*threads=*/0);
  WorkerIdentity w;
  store::WorkerInfo& info = w.info;
  info.host = HostName();
  info.id = id.empty() ? info.host : id;
  info.cpu_model = env.cpu_model;
  info.isa = env.onednn_isa;
  info.cores = env.cores;
  info.onednn_version = env.onednn_version;
  if (auto rapl = RaplMeter::Open(); rapl.ok() && rapl->Read().ok()) {
    std::vector<std::string> names;
    for (const RaplDomain& d : rapl->domains()) {
      names.push_back(d.name);
      info.energy_meters.push_back(absl::StrCat("rapl:", d.name));
    }
    w.rapl_meter = absl::StrCat("rapl:", absl::StrJoin(names, ","));
  }
  // GPUs with NVML's energy counter are listed as meters of this host (attached devices).
  if (auto nvml = NvmlMeter::Open(); nvml.ok())
    for (const std::string& d : (*nvml)->devices()) info.energy_meters.push_back(d);
  store::Device device;
  device.name = kDeviceId;
  device.device_class = "cpu";
  device.attributes_json = nlohmann::json{{"isa", env.onednn_isa},
                                          {"cpu_model", env.cpu_model},
                                          {"cpu_flags", env.cpu_flags},
                                          {"cores", env.cores},
                                          {"affinity", env.affinity},
                                          {"governor", env.governor}}
                               .dump();
  info.devices.push_back(device);
  w.device_classes = {"cpu", absl::StrCat("cpu-", env.onednn_isa)};
  w.device = absl::StrCat("workers/", info.id, "/devices/", kDeviceId);
  w.device_names = {w.device};
  // Attached devices: listed with what their runners said of themselves, and claimed by.
  for (const device::Device& d : attached) {
    info.devices.push_back({d.def.id, d.def.device_class, device::PublicAttributes(d).dump()});
    for (const std::string& token : {d.def.id, d.def.device_class})
      if (std::find(w.attached.begin(), w.attached.end(), token) == w.attached.end()) w.attached.push_back(token);
  }
  return w;
}

std::string AttachedDeviceName(const WorkerIdentity& worker, const std::string& device_id) {
  return absl::StrCat("workers/", worker.info.id, "/devices/", device_id);
}

}  // namespace qbench::worker
