#include "engine/device/device.h"

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/json_parse.h"
#include "common/status.h"

namespace qbench::device {

// The runner kinds. A built-in runner is an interpreter and a file of the runners
// directory, so that a worker image carries them as plain files beside the binary.
const RunnerDef kRunners[] = {
    {"ort", "cpu-ort", "node", "ort_runner.js"},
    {"trtexec", "gpu-trt", "python3", "trtexec_runner.py"},
    {"command", "command", nullptr, nullptr},
};

const RunnerDef* FindRunner(const std::string& name) {
  for (const RunnerDef& r : kRunners)
    if (name == r.name) return &r;
  return nullptr;
}

bool IsDeviceToken(const std::string& s, size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '-' && c != '_'))) return false;
  }
  return true;
}

namespace {

// The ORT execution providers a device may ask for (what ort_runner.js maps).
constexpr const char* kProviders[] = {"cpu", "cuda", "tensorrt"};

absl::Status Error(const std::string& where, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
}

// Fills the defaults that follow from the runner and checks the whole declaration.
absl::Status Finish(DeviceDef* d, const std::string& where) {
  if (!IsDeviceToken(d->id, 32)) return Error(where, "\"id\" must match [a-z0-9][a-z0-9_-]{0,31}");
  const RunnerDef* r = FindRunner(d->runner);
  if (!r) return Error(where, absl::StrCat("device \"", d->id, "\": \"runner\" must be ort, trtexec or command"));
  if (d->device_class.empty()) d->device_class = r->default_class;
  if (!IsDeviceToken(d->device_class, 64))
    return Error(where, absl::StrCat("device \"", d->id, "\": \"class\" must match [a-z0-9][a-z0-9_-]{0,63}"));
  if ((r->program == nullptr) != !d->command.empty())
    return Error(where, absl::StrCat("device \"", d->id, "\": ",
                                     r->program ? "only \"command\" runners take a command"
                                                : "a \"command\" runner needs its command"));
  if (static_cast<int>(d->command.size()) > kMaxCommandArgs)
    return Error(where, absl::StrCat("device \"", d->id, "\": the command has more than ", kMaxCommandArgs, " words"));
  for (const std::string& a : d->command)
    if (a.empty() || a.size() > kMaxArgBytes || a.find('\0') != std::string::npos)
      return Error(where, absl::StrCat("device \"", d->id, "\": a command word is empty or over ", kMaxArgBytes,
                                       " bytes"));
  bool known = false;
  for (const char* p : kProviders) known = known || d->provider == p;
  if (!known) return Error(where, absl::StrCat("device \"", d->id, "\": \"provider\" must be cpu, cuda or tensorrt"));
  if (d->provider != "cpu" && d->runner != "ort")
    return Error(where, absl::StrCat("device \"", d->id, "\": \"provider\" is an ort runner's setting"));
  return absl::OkStatus();
}

absl::StatusOr<DeviceDef> ParseOne(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) return Error(where, "must be an object");
  static constexpr const char* kKeys[] = {"id", "class", "runner", "command", "threads", "timeout_s", "provider"};
  for (const auto& [key, v] : j.items()) {
    bool ok = false;
    for (const char* k : kKeys) ok = ok || key == k;
    if (!ok) return Error(where, absl::StrCat("\"", key.substr(0, 64), "\" is not a known field"));
  }
  DeviceDef d;
  const auto str = [&](const char* key, std::string* out) -> absl::Status {
    auto it = j.find(key);
    if (it == j.end()) return absl::OkStatus();
    if (!it->is_string()) return Error(where, absl::StrCat("\"", key, "\" must be a string"));
    *out = it->get<std::string>();
    return absl::OkStatus();
  };
  QB_RETURN_IF_ERROR(str("id", &d.id));
  QB_RETURN_IF_ERROR(str("class", &d.device_class));
  QB_RETURN_IF_ERROR(str("runner", &d.runner));
  QB_RETURN_IF_ERROR(str("provider", &d.provider));
  if (auto it = j.find("command"); it != j.end()) {
    if (!it->is_array()) return Error(where, "\"command\" must be a list of strings");
    if (it->size() > static_cast<size_t>(kMaxCommandArgs))
      return Error(where, absl::StrCat("\"command\" has more than ", kMaxCommandArgs, " words"));
    for (const auto& a : *it) {
      if (!a.is_string()) return Error(where, "\"command\" must be a list of strings");
      d.command.push_back(a.get<std::string>());
    }
  }
  if (auto it = j.find("threads"); it != j.end()) {
    auto t = JsonInteger(*it, 1, 256);
    if (!t.ok()) return Error(where, absl::StrCat("\"threads\" ", t.status().message()));
    d.threads = static_cast<int>(*t);
  }
  if (auto it = j.find("timeout_s"); it != j.end()) {
    auto t = JsonNumber(*it, 1, 86400);
    if (!t.ok()) return Error(where, absl::StrCat("\"timeout_s\" ", t.status().message()));
    d.timeout_s = *t;
  }
  QB_RETURN_IF_ERROR(Finish(&d, where));
  return d;
}

}  // namespace

absl::StatusOr<DeviceDef> ParseDeviceFlag(const std::string& value) {
  const std::string where = "--device";
  const size_t eq = value.find('=');
  if (eq == std::string::npos) return Error(where, "expected ID=RUNNER or ID=command:PROGRAM");
  DeviceDef d;
  d.id = value.substr(0, eq);
  std::string rest = value.substr(eq + 1);
  if (const size_t colon = rest.find(':'); colon != std::string::npos) {
    d.command = {rest.substr(colon + 1)};
    rest = rest.substr(0, colon);
  }
  d.runner = rest;
  QB_RETURN_IF_ERROR(Finish(&d, where));
  return d;
}

absl::StatusOr<std::vector<DeviceDef>> ParseDevicesJson(const nlohmann::json& j, const std::string& where) {
  if (!j.is_array()) return Error(where, "must be a JSON array of devices");
  if (j.size() > static_cast<size_t>(kMaxDevices))
    return Error(where, absl::StrCat("declares more than ", kMaxDevices, " devices"));
  std::vector<DeviceDef> out;
  for (size_t i = 0; i < j.size(); ++i) {
    QB_ASSIGN_OR_RETURN(DeviceDef d, ParseOne(j[i], absl::StrCat(where, ": device ", i)));
    out.push_back(std::move(d));
  }
  QB_RETURN_IF_ERROR(CheckDevices(out));
  return out;
}

absl::StatusOr<std::vector<DeviceDef>> ReadDevicesFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("devices file ", path, ": cannot be read"));
  std::string text(64 * 1024 + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > 64 * 1024) return Error("devices file " + path, "is over 64 KiB");
  QB_ASSIGN_OR_RETURN(nlohmann::json j, ParseJson(text, "devices file " + path));
  return ParseDevicesJson(j, "devices file " + path);
}

absl::Status CheckDevices(const std::vector<DeviceDef>& devices) {
  if (static_cast<int>(devices.size()) > kMaxDevices)
    return absl::InvalidArgumentError(absl::StrCat("more than ", kMaxDevices, " devices declared"));
  std::set<std::string> ids;
  for (const DeviceDef& d : devices) {
    if (d.id == "cpu0") return absl::InvalidArgumentError("device id \"cpu0\" is the worker's own oneDNN device");
    if (!ids.insert(d.id).second)
      return absl::InvalidArgumentError(absl::StrCat("device id \"", d.id, "\" is declared twice"));
  }
  return absl::OkStatus();
}

std::vector<std::string> RunnerArgv(const DeviceDef& d, const std::string& runners_dir) {
  const RunnerDef* r = FindRunner(d.runner);
  if (!r || !r->program) return d.command;
  return {r->interpreter, runners_dir + "/" + r->program};
}

}  // namespace qbench::device
