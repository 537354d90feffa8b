#include "worker/daemon/local_spec.h"

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/json_parse.h"
#include "common/status.h"
#include "spec/quant_config.h"

namespace qbench::worker {
namespace {

using json = nlohmann::json;

// Points *path at the local copy of `asset`, or checks the path the spec gives.
template <typename Resolve>
absl::Status Localize(std::string* path, const std::optional<store::AssetRef>& asset, const std::string& field,
                      Resolve&& resolve) {
  if (asset) {
    QB_ASSIGN_OR_RETURN(*path, resolve(*asset, field));
    return absl::OkStatus();
  }
  if (path->empty()) return absl::OkStatus();  // CheckJobFiles names what is missing
  return AssetCache::CheckSharedPath(*path, field);
}

// The job's configurations (used when the spec lists none), parsed as the spec's would be.
absl::StatusOr<std::vector<quant::QuantConfig>> JobConfigs(const store::ClaimedJob& job) {
  std::vector<quant::QuantConfig> out;
  for (const store::JobConfig& c : job.configs) {
    if (absl::StartsWith(c.name, kSearchConfigPrefix)) continue;  // the search's results, not run as such
    const std::string where = absl::StrCat("configuration \"", c.name, "\"");
    QB_ASSIGN_OR_RETURN(json cj, ParseJson(c.spec_json.empty() ? std::string_view("{}") : std::string_view(c.spec_json),
                                           where));
    if (cj.is_object() && !cj.empty()) {
      cj["name"] = c.name;
    } else if (!cj.is_string()) {
      cj = c.name;  // a short name: "fp32", "w8a8"
    }
    QB_ASSIGN_OR_RETURN(quant::QuantConfig config, quant::ParseConfig(cj, where));
    out.push_back(std::move(config));
  }
  return out;
}

}  // namespace

absl::StatusOr<JobSpec> LocalJobSpec(const store::ClaimedJob& job, const store::JobAssets& assets, AssetCache& cache,
                                     const std::string& export_dir, const JobSpecLimits& limits) {
  QB_ASSIGN_OR_RETURN(JobSpec spec, ParseJobSpecDocument(job.spec_json, limits));
  auto model = [&](const store::AssetRef& a, const std::string& f) { return cache.ModelPath(a, f); };
  auto dataset = [&](const store::AssetRef& a, const std::string& f) { return cache.DatasetManifest(a, f); };
  QB_RETURN_IF_ERROR(Localize(&spec.model, assets.model, "model", model));
  QB_RETURN_IF_ERROR(Localize(&spec.eval_dataset, assets.eval_dataset, "eval_dataset", dataset));
  QB_RETURN_IF_ERROR(Localize(&spec.calibration_dataset, assets.calibration_dataset, "calibration.dataset", dataset));
  QB_RETURN_IF_ERROR(Localize(&spec.validation.dataset, std::nullopt, "validation.dataset", dataset));
  if (!spec.configs_listed && !job.configs.empty()) {
    QB_ASSIGN_OR_RETURN(spec.configs, JobConfigs(job));
    OrderBaselineFirst(&spec.configs);
  }
  spec.export_dir = export_dir;
  QB_RETURN_IF_ERROR(CheckJobFiles(spec, FilesOf(spec)));
  return spec;
}

}  // namespace qbench::worker
