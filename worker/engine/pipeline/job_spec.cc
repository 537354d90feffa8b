#include "worker/engine/pipeline/job_spec.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace qbench {
namespace {

using json = nlohmann::json;

absl::Status FieldError(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("job spec: field \"", field, "\" ", what));
}

std::string Resolve(const std::string& base, const std::string& p) {
  if (p.empty() || p[0] == '/' || base.empty()) return p;
  return (std::filesystem::path(base) / p).lexically_normal().string();
}

// Reads an optional field of type T; a present field of another type is an error
// naming it with its parent ("latency.min_iters").
template <class T>
absl::Status Read(const json& j, const std::string& parent, const std::string& key, T* out) {
  if (!j.contains(key)) return absl::OkStatus();
  try {
    *out = j.at(key).get<T>();
  } catch (const json::exception&) {
    return FieldError(parent + key, "has the wrong type");
  }
  return absl::OkStatus();
}

#define QB_READ_IN(j, parent, key, out)                                    \
  do {                                                                     \
    if (absl::Status s_ = Read(j, parent, key, out); !s_.ok()) return s_;  \
  } while (0)
#define QB_READ(j, key, out) QB_READ_IN(j, "", key, out)

}  // namespace

absl::StatusOr<JobSpec> ParseJobSpec(const std::string& text, const std::string& base_dir) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    return absl::InvalidArgumentError(absl::StrCat("job spec: not valid JSON: ", e.what()));
  }
  if (!j.is_object()) return absl::InvalidArgumentError("job spec: must be a JSON object");
  static const std::set<std::string> kKnown = {"name",        "model",   "eval_dataset", "samples", "eval_batch_size",
                                               "batch_sizes", "threads", "backend",      "latency", "seed", "sub_batch", "pin_threads",
                                               "configs",     "calibration", "sqnr_samples", "export_dir",
                                               "sensitivity", "profile_iters", "offline"};
  for (const auto& [key, value] : j.items())
    if (!kKnown.count(key)) return FieldError(key, "is not a known field");
  JobSpec s;
  QB_READ(j, "name", &s.name);
  QB_READ(j, "model", &s.model);
  QB_READ(j, "eval_dataset", &s.eval_dataset);
  if (s.model.empty()) return FieldError("model", "is required");
  if (s.eval_dataset.empty()) return FieldError("eval_dataset", "is required");
  s.model = Resolve(base_dir, s.model);
  s.eval_dataset = Resolve(base_dir, s.eval_dataset);
  QB_READ(j, "samples", &s.samples);
  if (s.samples < 0) return FieldError("samples", "must be >= 0");
  QB_READ(j, "eval_batch_size", &s.eval_batch_size);
  if (s.eval_batch_size < 0) return FieldError("eval_batch_size", "must be >= 0");
  QB_READ(j, "batch_sizes", &s.batch_sizes);
  if (s.batch_sizes.empty()) return FieldError("batch_sizes", "must not be empty");
  for (size_t i = 0; i < s.batch_sizes.size(); ++i)
    if (s.batch_sizes[i] < 1 || s.batch_sizes[i] > 4096)
      return FieldError(absl::StrCat("batch_sizes[", i, "]"), "must be in 1..4096");
  QB_READ(j, "threads", &s.threads);
  if (s.threads < 0 || s.threads > 1024) return FieldError("threads", "must be in 0..1024");
  std::string backend = "onednn";
  QB_READ(j, "backend", &backend);
  if (backend == "onednn") s.backend = Backend::kOneDnn;
  else if (backend == "reference") s.backend = Backend::kReference;
  else return FieldError("backend", absl::StrCat("must be \"onednn\" or \"reference\", got \"", backend, "\""));
  QB_READ(j, "pin_threads", &s.pin_threads);
  if (j.contains("sub_batch")) {
    const json& sb = j["sub_batch"];
    if (sb == "auto") s.sub_batch = SessionOptions::kAutoSubBatch;
    else if (sb == "off") s.sub_batch = 0;
    else if (sb.is_number_integer() && sb.get<int64_t>() >= 1) s.sub_batch = sb.get<int64_t>();
    else return FieldError("sub_batch", "must be \"auto\", \"off\" or an integer >= 1");
  }
  QB_READ(j, "seed", &s.seed);
  if (j.contains("latency")) {
    const json& l = j["latency"];
    if (!l.is_object()) return FieldError("latency", "must be an object");
    for (const auto& [key, value] : l.items())
      if (key != "warmup_iters" && key != "warmup_seconds" && key != "min_iters" && key != "min_seconds" &&
          key != "max_iters" && key != "sessions")
        return FieldError(absl::StrCat("latency.", key), "is not a known field");
    QB_READ_IN(l, "latency.", "warmup_iters", &s.latency.warmup_iters);
    QB_READ_IN(l, "latency.", "warmup_seconds", &s.latency.warmup_seconds);
    QB_READ_IN(l, "latency.", "min_iters", &s.latency.min_iters);
    QB_READ_IN(l, "latency.", "min_seconds", &s.latency.min_seconds);
    QB_READ_IN(l, "latency.", "max_iters", &s.latency.max_iters);
    QB_READ_IN(l, "latency.", "sessions", &s.latency.sessions);
    if (s.latency.sessions < 1 || s.latency.sessions > 50) return FieldError("latency.sessions", "must be 1..50");
    if (s.latency.min_iters < 1) return FieldError("latency.min_iters", "must be >= 1");
    if (s.latency.max_iters < s.latency.min_iters) return FieldError("latency.max_iters", "must be >= min_iters");
    if (s.latency.warmup_iters < 0 || s.latency.warmup_seconds < 0 || s.latency.min_seconds < 0)
      return FieldError("latency", "values must be >= 0");
  }
  if (j.contains("offline")) {
    const json& o = j["offline"];
    if (!o.is_object()) return FieldError("offline", "must be an object");
    for (const auto& [key, value] : o.items())
      if (key != "batch_size" && key != "samples" && key != "passes")
        return FieldError(absl::StrCat("offline.", key), "is not a known field");
    s.offline.batch_size = 64;
    QB_READ_IN(o, "offline.", "batch_size", &s.offline.batch_size);
    QB_READ_IN(o, "offline.", "samples", &s.offline.samples);
    QB_READ_IN(o, "offline.", "passes", &s.offline.passes);
    if (s.offline.batch_size < 1 || s.offline.batch_size > 4096) return FieldError("offline.batch_size", "must be in 1..4096");
    if (s.offline.samples < s.offline.batch_size) return FieldError("offline.samples", "must be >= offline.batch_size");
    if (s.offline.passes < 1 || s.offline.passes > 100) return FieldError("offline.passes", "must be in 1..100");
  }
  QB_READ(j, "sqnr_samples", &s.sqnr_samples);
  QB_READ(j, "export_dir", &s.export_dir);
  QB_READ(j, "sensitivity", &s.sensitivity);
  QB_READ(j, "profile_iters", &s.profile_iters);
  if (s.profile_iters < 0 || s.profile_iters > 10000) return FieldError("profile_iters", "must be in 0..10000");
  if (!s.export_dir.empty()) s.export_dir = Resolve(base_dir, s.export_dir);
  if (s.sqnr_samples < 0) return FieldError("sqnr_samples", "must be >= 0");
  if (j.contains("calibration")) {
    const json& c = j["calibration"];
    if (!c.is_object()) return FieldError("calibration", "must be an object");
    for (const auto& [key, value] : c.items())
      if (key != "dataset" && key != "samples" && key != "seed" && key != "batch_size")
        return FieldError(absl::StrCat("calibration.", key), "is not a known field (dataset, samples, seed, batch_size)");
    QB_READ_IN(c, "calibration.", "dataset", &s.calibration_dataset);
    s.calibration_dataset = Resolve(base_dir, s.calibration_dataset);
    QB_READ_IN(c, "calibration.", "samples", &s.calibration_samples);
    if (s.calibration_samples < 1) return FieldError("calibration.samples", "must be >= 1");
    QB_READ_IN(c, "calibration.", "seed", &s.seed);
    QB_READ_IN(c, "calibration.", "batch_size", &s.calibration_batch_size);
    if (s.calibration_batch_size < 1) return FieldError("calibration.batch_size", "must be >= 1");
  }
  json configs = j.value("configs", json::array({"fp32"}));
  if (!configs.is_array() || configs.empty()) return FieldError("configs", "must be a non-empty list");
  std::set<std::string> names;
  for (size_t i = 0; i < configs.size(); ++i) {
    auto c = quant::ParseConfig(configs[i], absl::StrCat("configs[", i, "]"));
    if (!c.ok()) return c.status();
    if (!names.insert(c->name).second)
      return FieldError(absl::StrCat("configs[", i, "]"), absl::StrCat("repeats the name \"", c->name, "\""));
    if (c->needs_calibration() && s.calibration_dataset.empty())
      return FieldError("calibration.dataset", absl::StrCat("is required: configuration \"", c->name,
                                                            "\" uses static activation quantization"));
    s.configs.push_back(*std::move(c));
  }
  if (!names.count("fp32")) s.configs.insert(s.configs.begin(), *quant::ConfigFromShortName("fp32"));
  return s;
}

absl::StatusOr<JobSpec> LoadJobSpec(const std::string& path) {
  std::ifstream f(path);
  if (!f) return absl::NotFoundError(absl::StrCat("job spec ", path, ": cannot open"));
  std::stringstream ss;
  ss << f.rdbuf();
  auto spec = ParseJobSpec(ss.str(), std::filesystem::path(path).parent_path().string());
  if (!spec.ok()) return absl::Status(spec.status().code(), absl::StrCat(path, ": ", spec.status().message()));
  return spec;
}

}  // namespace qbench
