#include "worker/daemon/local_spec.h"

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/json_parse.h"
#include "common/status.h"
#include "engine/pipeline/job_spec.h"

namespace qbench::worker {
namespace {

using json = nlohmann::json;

// Points obj[key] at the local copy of `asset`, or checks the path the spec gives.
template <typename Resolve>
absl::Status Localize(json& obj, const char* key, const std::optional<store::AssetRef>& asset,
                      const std::string& field, Resolve&& resolve) {
  if (asset) {
    QB_ASSIGN_OR_RETURN(std::string path, resolve(*asset, field));
    obj[key] = path;
    return absl::OkStatus();
  }
  if (!obj.contains(key)) return absl::OkStatus();  // ParseJobSpec names what is missing
  if (!obj[key].is_string()) return absl::InvalidArgumentError(absl::StrCat(field, ": must be a string path"));
  return AssetCache::CheckSharedPath(obj[key].get<std::string>(), field);
}

// The job's configurations as a spec "configs" list (used when the spec has none).
absl::StatusOr<json> ConfigList(const store::ClaimedJob& job) {
  json list = json::array();
  for (const store::JobConfig& c : job.configs) {
    if (absl::StartsWith(c.name, kSearchConfigPrefix)) continue;  // the search's results, not run as such
    QB_ASSIGN_OR_RETURN(json cj, ParseJson(c.spec_json.empty() ? std::string_view("{}") : std::string_view(c.spec_json),
                                           absl::StrCat("configuration \"", c.name, "\"")));
    if (cj.is_object() && !cj.empty()) {
      cj["name"] = c.name;
    } else if (!cj.is_string()) {
      cj = c.name;  // a short name: "fp32", "w8a8"
    }
    list.push_back(cj);
  }
  return list;
}

}  // namespace

absl::StatusOr<std::string> LocalSpecJson(const store::ClaimedJob& job, const store::JobAssets& assets,
                                          AssetCache& cache, const std::string& export_dir) {
  QB_ASSIGN_OR_RETURN(json spec, ParseJson(job.spec_json, "job spec"));
  if (!spec.is_object()) return absl::InvalidArgumentError("job spec: must be a JSON object");
  auto model = [&](const store::AssetRef& a, const std::string& f) { return cache.ModelPath(a, f); };
  auto dataset = [&](const store::AssetRef& a, const std::string& f) { return cache.DatasetManifest(a, f); };
  QB_RETURN_IF_ERROR(Localize(spec, "model", assets.model, "model", model));
  QB_RETURN_IF_ERROR(Localize(spec, "eval_dataset", assets.eval_dataset, "eval_dataset", dataset));
  if (assets.calibration_dataset && !spec.contains("calibration")) spec["calibration"] = json::object();
  if (spec.contains("calibration") && spec["calibration"].is_object())
    QB_RETURN_IF_ERROR(
        Localize(spec["calibration"], "dataset", assets.calibration_dataset, "calibration.dataset", dataset));
  if (!spec.contains("configs") && !job.configs.empty()) {
    QB_ASSIGN_OR_RETURN(spec["configs"], ConfigList(job));
  }
  if (export_dir.empty()) {
    spec.erase("export_dir");
  } else {
    spec["export_dir"] = export_dir;
  }
  return spec.dump();
}

}  // namespace qbench::worker
