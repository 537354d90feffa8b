#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/device/process.h"
#include "engine/device/protocol.h"

namespace qbench::device {

std::string DefaultRunnersDir() {
  if (const char* d = std::getenv("QB_RUNNERS_DIR"); d && *d) return d;
  return QB_DEFAULT_RUNNERS_DIR;
}

absl::StatusOr<std::vector<Device>> AttachDevices(const std::vector<DeviceDef>& defs, const std::string& runners_dir) {
  QB_RETURN_IF_ERROR(CheckDevices(defs));
  std::vector<Device> out;
  for (const DeviceDef& def : defs) {
    Device d;
    d.def = def;
    d.argv = RunnerArgv(def, runners_dir);
    std::vector<std::string> argv = d.argv;
    argv.push_back("--describe");
    QB_ASSIGN_OR_RETURN(ProcessResult p, RunProcess(argv, "", 60));
    if (!p.ok())
      return absl::FailedPreconditionError(
          absl::StrCat("device ", def.id, " (", def.runner, "): the runner's --describe ", p.Describe(60),
                       p.err.empty() ? "" : absl::StrCat(": ", CleanWord(p.err.substr(p.err.size() > 300 ? p.err.size() - 300 : 0), 300))));
    auto desc = ParseDescription(p.out);
    if (!desc.ok())
      return absl::FailedPreconditionError(absl::StrCat("device ", def.id, " (", def.runner, "): ", desc.status().message()));
    d.runtime = desc->runtime;
    d.version = desc->version;
    d.providers = desc->providers;
    d.meters = desc->meters;
    out.push_back(std::move(d));
  }
  return out;
}

nlohmann::json AttachedJson(const std::vector<Device>& devices) {
  nlohmann::json out = nlohmann::json::array();
  for (const Device& d : devices) {
    nlohmann::json j = {{"id", d.def.id},         {"class", d.def.device_class}, {"runner", d.def.runner},
                        {"threads", d.def.threads}, {"timeout_s", d.def.timeout_s},  {"provider", d.def.provider},
                        {"argv", d.argv},          {"runtime", d.runtime},         {"version", d.version},
                        {"providers", d.providers}, {"meters", d.meters}};
    if (!d.def.command.empty()) j["command"] = d.def.command;
    out.push_back(std::move(j));
  }
  return out;
}

absl::StatusOr<std::vector<Device>> AttachedFromJson(const nlohmann::json& j) {
  if (!j.is_array()) return absl::InvalidArgumentError("attached devices: not a JSON array");
  // The declarations go through the devices file's own checks (ids, classes, runners,
  // limits); the rest are the words the runner described itself with.
  nlohmann::json defs = nlohmann::json::array();
  static constexpr const char* kDescribed[] = {"argv", "runtime", "version", "providers", "meters"};
  for (const nlohmann::json& d : j) {
    if (!d.is_object()) return absl::InvalidArgumentError("attached devices: an entry is not an object");
    nlohmann::json def = d;
    for (const char* k : kDescribed) def.erase(k);
    defs.push_back(std::move(def));
  }
  QB_ASSIGN_OR_RETURN(std::vector<DeviceDef> parsed, ParseDevicesJson(defs, "attached devices"));
  std::vector<Device> out;
  try {
    for (size_t i = 0; i < parsed.size(); ++i) {
      Device d;
      d.def = std::move(parsed[i]);
      const nlohmann::json& e = j[i];
      d.argv = e.at("argv").get<std::vector<std::string>>();
      if (d.argv.empty()) return absl::InvalidArgumentError(absl::StrCat("attached device ", d.def.id, ": no argv"));
      d.runtime = e.at("runtime").get<std::string>();
      d.version = e.at("version").get<std::string>();
      d.providers = e.at("providers").get<std::vector<std::string>>();
      d.meters = e.at("meters").get<std::vector<std::string>>();
      out.push_back(std::move(d));
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("attached devices: ", e.what()));
  }
  return out;
}

nlohmann::json PublicAttributes(const Device& d) {
  return {{"runner", d.def.runner},     {"class", d.def.device_class}, {"provider", d.def.provider},
          {"threads", d.def.threads},   {"runtime", d.runtime},        {"version", d.version},
          {"providers", d.providers},   {"meters", d.meters}};
}

}  // namespace qbench::device
