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

}  // namespace qbench::device
