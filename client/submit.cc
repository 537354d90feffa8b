#include "client/submit.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status.h"

namespace qbench::client {
namespace {

namespace fs = std::filesystem;
namespace v1 = qbench::v1;
using Json = nlohmann::json;

// The path fields of a spec: where they live in the JSON and which ref replaces them.
struct SpecPath {
  const char* parent;  // nullptr: top level; else the object holding the field
  const char* key;
  const char* field;  // as named in errors
  std::string ResolvedSpec::*member;
  v1::ArtifactRef* (v1::CreateJobRequest::*ref)();
  bool dataset;
};
constexpr SpecPath kSpecPaths[] = {
    {nullptr, "model", "model", &ResolvedSpec::model, &v1::CreateJobRequest::mutable_model, false},
    {nullptr, "eval_dataset", "eval_dataset", &ResolvedSpec::eval_dataset, &v1::CreateJobRequest::mutable_eval_dataset,
     true},
    {"calibration", "dataset", "calibration.dataset", &ResolvedSpec::calibration_dataset,
     &v1::CreateJobRequest::mutable_calibration_dataset, true},
};

constexpr char kArchiveManifest[] = "dataset.json";  // where PackDataset puts the manifest

std::string Absolute(const std::string& path, const std::string& base_dir) {
  fs::path p(path);
  if (p.is_relative()) p = fs::path(base_dir) / p;
  return fs::absolute(p).lexically_normal().string();
}

}  // namespace

absl::StatusOr<ResolvedSpec> ResolveSpec(const std::string& json_text, const std::string& base_dir,
                                         const std::string& source) {
  ResolvedSpec r;
  try {
    r.spec = Json::parse(json_text);
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("job spec ", source, ": ", e.what()));
  }
  if (!r.spec.is_object()) return absl::InvalidArgumentError(absl::StrCat("job spec ", source, ": must be an object"));
  for (const SpecPath& p : kSpecPaths) {
    Json* obj = &r.spec;
    if (p.parent != nullptr) {
      if (!r.spec.contains(p.parent)) continue;
      obj = &r.spec[p.parent];
      if (!obj->is_object())
        return absl::InvalidArgumentError(absl::StrCat("job spec ", source, ": field \"", p.parent, "\" must be an object"));
    }
    if (!obj->contains(p.key)) continue;
    const Json& v = (*obj)[p.key];
    if (!v.is_string() || v.get<std::string>().empty())
      return absl::InvalidArgumentError(
          absl::StrCat("job spec ", source, ": field \"", p.field, "\" must be a non-empty path"));
    r.*p.member = Absolute(v.get<std::string>(), base_dir);
    obj->erase(p.key);  // the request's ref replaces it
  }
  return r;
}

absl::StatusOr<ResolvedSpec> ReadSpecFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("job spec ", path, ": cannot open"));
  std::ostringstream text;
  text << in.rdbuf();
  return ResolveSpec(text.str(), fs::path(path).parent_path().string(), path);
}

absl::StatusOr<ResolvedSpec> SpecFromFlags(const QuickSpec& q) {
  if (q.model.empty() || q.data.empty() || q.configs.empty())
    return absl::InvalidArgumentError("submit: --model, --data and --configs are required without a SPEC.json");
  Json spec = {{"name", fs::path(q.model).stem().string()},
               {"model", q.model},
               {"eval_dataset", q.data},
               {"configs", q.configs}};
  if (q.samples >= 0) spec["samples"] = q.samples;
  if (!q.batch_sizes.empty()) spec["batch_sizes"] = q.batch_sizes;
  if (!q.calib.empty()) spec["calibration"] = {{"dataset", q.calib}};
  return ResolveSpec(spec.dump(), fs::current_path().string(), "from flags");
}

absl::Status ApplySearchFlags(const SearchFlags& f, ResolvedSpec* spec, std::string* note) {
  note->clear();
  if (!f.any()) return absl::OkStatus();
  Json search = spec->spec.contains("search") ? spec->spec["search"] : Json::object();
  if (!f.search.empty()) {
    std::string text = f.search;
    if (text.find('{') == std::string::npos) {  // a file
      std::ifstream in(f.search);
      if (!in) return absl::NotFoundError(absl::StrCat("--search ", f.search, ": cannot open"));
      std::ostringstream all;
      all << in.rdbuf();
      text = all.str();
    }
    search = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!search.is_object()) return absl::InvalidArgumentError("--search: must be a JSON object or a file holding one");
  }
  if (!search.is_object()) return absl::InvalidArgumentError("job spec: field \"search\" must be an object");
  auto number = [&](const char* flag, const std::string& v, const char* key, bool integer) -> absl::Status {
    if (v.empty()) return absl::OkStatus();
    Json x = Json::parse(v, nullptr, false);
    if (!x.is_number() || (integer && !x.is_number_integer()))
      return absl::InvalidArgumentError(absl::StrCat(flag, ": expected ", integer ? "an integer" : "a number", ", got \"",
                                                     v, "\""));
    if (std::string(key).rfind("budget.", 0) == 0) {
      if (!search.contains("budget") || !search["budget"].is_object()) search["budget"] = Json::object();
      search["budget"][std::string(key).substr(7)] = x;
    } else {
      search[key] = x;
    }
    return absl::OkStatus();
  };
  QB_RETURN_IF_ERROR(number("--max-drop", f.max_drop, "max_drop", false));
  QB_RETURN_IF_ERROR(number("--search-batch", f.batch_size, "batch_size", true));
  QB_RETURN_IF_ERROR(number("--evaluations", f.evaluations, "budget.evaluations", true));
  QB_RETURN_IF_ERROR(number("--minutes", f.minutes, "budget.minutes", false));
  if (!f.objective.empty()) {
    Json o = Json::parse(f.objective, nullptr, false);  // a mix: '{"latency": 1, "size": 0.5}'
    search["objective"] = o.is_object() ? o : Json(f.objective);
  }
  if (!f.choices.empty()) search["choices"] = f.choices;
  spec->spec["search"] = search;
  if (!spec->spec.contains("validation")) {
    spec->spec["validation"] = {{"fraction", 0.5}, {"seed", 0}};
    *note =
        "search: the spec has no \"validation\"; half of the evaluation samples are the validation split "
        "(\"validation\": {\"fraction\": 0.5}); the test figures come from the other half";
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::CreateJobRequest> BuildCreateJobRequest(const ResolvedSpec& spec, bool shared,
                                                           const Uploader& upload) {
  v1::CreateJobRequest req;
  req.set_spec_json(spec.spec.dump());
  std::map<std::string, std::string> blobs;  // path -> "blobs/<sha>", so each is uploaded once
  for (const SpecPath& p : kSpecPaths) {
    const std::string& path = spec.*p.member;
    if (path.empty()) continue;
    v1::ArtifactRef* ref = (req.*p.ref)();
    if (shared) {
      ref->set_shared_path(path);
      continue;
    }
    auto it = blobs.find(path);
    if (it == blobs.end()) {
      QB_ASSIGN_OR_RETURN(std::string blob, upload(path, p.dataset));
      it = blobs.emplace(path, blob).first;
    }
    ref->set_blob(it->second);
    if (p.dataset) ref->set_manifest(kArchiveManifest);
  }
  return req;
}

std::string NewRequestId() {
  std::random_device rd;
  std::uniform_int_distribution<uint32_t> dist;
  uint32_t w[4];
  for (uint32_t& x : w) x = dist(rd);
  w[1] = (w[1] & 0xffff0fffu) | 0x00004000u;  // version 4
  w[2] = (w[2] & 0x3fffffffu) | 0x80000000u;  // RFC 4122 variant
  return absl::StrFormat("%08x-%04x-%04x-%04x-%04x%08x", w[0], w[1] >> 16, w[1] & 0xffff, w[2] >> 16, w[2] & 0xffff,
                         w[3]);
}

}  // namespace qbench::client
