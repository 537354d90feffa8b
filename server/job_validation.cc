#include "server/job_validation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/sha256.h"
#include "spec/path_util.h"
#include "spec/job_spec.h"

namespace qbench::server {
namespace {

absl::Status FieldError(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(absl::string_view(field.data(), field.size()), ": ",
                                                 absl::string_view(what.data(), what.size())));
}

bool IsIdChar(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; }

// A shared path must be spelled normally and lie under one of the server's shared roots
// (spec/path_util.h); the worker resolves it and checks again.
absl::Status CheckSharedPath(const std::string& path, std::string_view field, const JobLimits& limits) {
  return data::CheckSharedPathSpelling(path, limits.shared_roots, field);
}

absl::StatusOr<ArtifactSource> ConvertRef(const qbench::v1::ArtifactRef& ref, const std::string& field,
                                          const JobLimits& limits) {
  ArtifactSource out;
  out.manifest = ref.manifest();
  switch (ref.source_case()) {
    case qbench::v1::ArtifactRef::kBlob: {
      absl::string_view sha = ref.blob();
      if (!absl::ConsumePrefix(&sha, "blobs/") || !IsSha256Hex(std::string_view(sha.data(), sha.size())))
        return FieldError(field + ".blob", "expected \"blobs/<64 lower-case hex>\"");
      out.kind = ArtifactSource::Kind::kBlob;
      out.value = std::string(sha);
      if (!out.manifest.empty() && (out.manifest[0] == '/' || absl::StrContains(out.manifest, "..")))
        return FieldError(field + ".manifest", "must be a relative path inside the archive");
      break;
    }
    case qbench::v1::ArtifactRef::kSharedPath:
      if (absl::Status s = CheckSharedPath(ref.shared_path(), field + ".shared_path", limits); !s.ok()) return s;
      out.kind = ArtifactSource::Kind::kSharedPath;
      out.value = ref.shared_path();
      break;
    case qbench::v1::ArtifactRef::SOURCE_NOT_SET:
      break;
  }
  return out;
}

}  // namespace

absl::StatusOr<NewJob> ValidateCreateJob(const qbench::v1::CreateJobRequest& request, const std::string& team_id,
                                         const JobLimits& limits) {
  NewJob job;
  job.team_id = team_id;
  if (request.spec_json().empty()) return FieldError("spec_json", "is required");
  if (static_cast<int64_t>(request.spec_json().size()) > limits.max_spec_bytes)
    return FieldError("spec_json", absl::StrCat("is ", request.spec_json().size(), " bytes, the limit is ",
                                                limits.max_spec_bytes));
  const std::string& rid = request.request_id();
  if (rid.size() > 64 || !std::all_of(rid.begin(), rid.end(), IsIdChar))
    return FieldError("request_id", "must be at most 64 characters of [A-Za-z0-9_-]");
  job.request_id = rid;
  if (request.display_name().size() > 128) return FieldError("display_name", "must be at most 128 characters");

  switch (request.device().target_case()) {
    case qbench::v1::DeviceSelector::kDeviceClass:
      if (request.device().device_class().empty() || request.device().device_class().size() > 64 ||
          !std::all_of(request.device().device_class().begin(), request.device().device_class().end(), IsIdChar))
        return FieldError("device.device_class", "must be 1-64 characters of [A-Za-z0-9_-]");
      job.device_class = request.device().device_class();
      break;
    case qbench::v1::DeviceSelector::kDevice: {
      std::vector<std::string> parts = absl::StrSplit(request.device().device(), '/');
      if (parts.size() != 4 || parts[0] != "workers" || parts[1].empty() || parts[2] != "devices" || parts[3].empty())
        return FieldError("device.device", "expected \"workers/<host>/devices/<id>\"");
      job.device = request.device().device();
      break;
    }
    case qbench::v1::DeviceSelector::TARGET_NOT_SET:
      break;
  }

  auto model = ConvertRef(request.model(), "model", limits);
  if (!model.ok()) return model.status();
  auto eval = ConvertRef(request.eval_dataset(), "eval_dataset", limits);
  if (!eval.ok()) return eval.status();
  auto calib = ConvertRef(request.calibration_dataset(), "calibration_dataset", limits);
  if (!calib.ok()) return calib.status();
  job.model = *model;
  job.eval_dataset = *eval;
  job.calibration_dataset = *calib;

  // The spec parsed by the same parser the worker uses, paths as written; then each file
  // comes from the request's reference or, failing that, from the spec's shared path.
  JobSpecLimits spec_limits = limits.spec;
  spec_limits.cap_threads_at_cpus = false;  // the server's CPUs say nothing about a worker's
  auto parsed = qbench::ParseJobSpecDocument(request.spec_json(), spec_limits);
  // The parser names the spec itself ("job spec: ..."); here the field already does.
  if (!parsed.ok()) return FieldError("spec_json", std::string(absl::StripPrefix(parsed.status().message(), "job spec: ")));
  if (!parsed->export_dir.empty()) return FieldError("spec_json.export_dir", "is set by the server; use ExportModel");
  auto from_spec = [&](ArtifactSource& src, const std::string& path, const std::string& field) -> absl::Status {
    if (src.kind != ArtifactSource::Kind::kNone || path.empty()) return absl::OkStatus();
    src.kind = ArtifactSource::Kind::kSharedPath;
    src.value = path;
    return CheckSharedPath(src.value, field, limits);
  };
  if (absl::Status s = from_spec(job.model, parsed->model, "spec_json.model"); !s.ok()) return s;
  if (absl::Status s = from_spec(job.eval_dataset, parsed->eval_dataset, "spec_json.eval_dataset"); !s.ok()) return s;
  if (absl::Status s = from_spec(job.calibration_dataset, parsed->calibration_dataset, "spec_json.calibration.dataset");
      !s.ok())
    return s;
  if (!parsed->validation.dataset.empty())
    if (absl::Status s = CheckSharedPath(parsed->validation.dataset, "spec_json.validation.dataset", limits); !s.ok())
      return s;
  const JobFiles files{job.model.kind != ArtifactSource::Kind::kNone, job.eval_dataset.kind != ArtifactSource::Kind::kNone,
                       job.calibration_dataset.kind != ArtifactSource::Kind::kNone};
  if (absl::Status s = CheckJobFiles(*parsed, files); !s.ok()) return FieldError("spec_json", std::string(s.message()));
  if (static_cast<int>(parsed->configs.size()) > limits.max_configs)
    return FieldError("spec_json.configs", absl::StrCat("has ", parsed->configs.size(),
                                                        " configurations with fp32, the limit is ", limits.max_configs));
  if (parsed->samples > limits.max_samples)
    return FieldError("spec_json.samples", absl::StrCat(parsed->samples, " exceeds the limit of ", limits.max_samples));
  job.config_names = qbench::JobConfigNames(*parsed);
  job.samples = parsed->samples;
  job.spec_json = request.spec_json();
  job.display_name = request.display_name().empty() ? parsed->name : request.display_name();
  return job;
}

absl::StatusOr<int64_t> ParseJobName(const std::string& name, const std::string& field) {
  absl::string_view id = name;
  int64_t value = 0;
  if (!absl::ConsumePrefix(&id, "jobs/") || id.empty() || !std::all_of(id.begin(), id.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(id, &value) || value <= 0)
    return FieldError(field, absl::StrCat("expected \"jobs/<id>\", got \"", name, "\""));
  return value;
}

absl::StatusOr<JobFilter> ParseJobFilter(const std::string& filter) {
  JobFilter out;
  if (absl::StripAsciiWhitespace(filter).empty()) return out;
  for (absl::string_view term : absl::StrSplit(filter, " AND ")) {
    std::vector<absl::string_view> kv = absl::StrSplit(term, absl::MaxSplits('=', 1));
    if (kv.size() != 2) return FieldError("filter", absl::StrCat("expected `field = value`, got `", term, "`"));
    const absl::string_view key = absl::StripAsciiWhitespace(kv[0]);
    absl::string_view value = absl::StripAsciiWhitespace(kv[1]);
    if (key == "state") {
      out.state = ParseApiJobState(std::string_view(value.data(), value.size()));
      if (!out.state) return FieldError("filter", absl::StrCat("unknown state \"", value, "\""));
    } else if (key == "display_name") {
      if (value.size() < 2 || value.front() != '"' || value.back() != '"')
        return FieldError("filter", "display_name must be a quoted string");
      out.display_name = std::string(value.substr(1, value.size() - 2));
    } else {
      return FieldError("filter", absl::StrCat("unknown field \"", key, "\" (state, display_name)"));
    }
  }
  return out;
}

absl::StatusOr<int32_t> NormalizePageSize(int32_t page_size) {
  if (page_size < 0) return FieldError("page_size", "must be >= 0");
  if (page_size == 0) return 50;
  return std::min(page_size, 1000);
}

}  // namespace qbench::server
