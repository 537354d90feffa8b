#include "spec/job_spec.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/json_parse.h"
#include "spec/spec_reader.h"

namespace qbench {

const JobSpecLimitDef kJobSpecLimits[] = {
    {"samples", &JobSpecLimits::samples, nullptr, "samples and validation.samples"},
    {"batch_size", &JobSpecLimits::batch_size, nullptr, "every batch size (latency, eval, offline, calibration, sub_batch)"},
    {"batch_sizes", &JobSpecLimits::batch_sizes, nullptr, "how many latency batch sizes"},
    {"configs", &JobSpecLimits::configs, nullptr, "how many configurations"},
    {"threads", &JobSpecLimits::threads, nullptr, "threads"},
    {"latency.max_iters", &JobSpecLimits::latency_iters, nullptr, "latency.min_iters, max_iters and warmup_iters"},
    {"latency.min_seconds", nullptr, &JobSpecLimits::latency_seconds, "latency.min_seconds and warmup_seconds"},
    {"latency.sessions", &JobSpecLimits::latency_sessions, nullptr, "latency.sessions"},
    {"offline.samples", &JobSpecLimits::offline_samples, nullptr, "offline.samples"},
    {"offline.passes", &JobSpecLimits::offline_passes, nullptr, "offline.passes"},
    {"calibration.samples", &JobSpecLimits::calibration_samples, nullptr,
     "calibration.samples and each configuration's calibration.samples"},
    {"sqnr_samples", &JobSpecLimits::sqnr_samples, nullptr, "sqnr_samples"},
    {"profile_iters", &JobSpecLimits::profile_iters, nullptr, "profile_iters"},
    {"max_job_seconds", nullptr, &JobSpecLimits::max_job_seconds, "the largest max_job_seconds a spec may give"},
    {"default_job_seconds", nullptr, &JobSpecLimits::default_job_seconds, "max_job_seconds when a spec gives none"},
};
const int kJobSpecLimitCount = static_cast<int>(std::size(kJobSpecLimits));

JobSpecLimits WidestJobSpecLimits() {
  JobSpecLimits l;
  for (const JobSpecLimitDef& d : kJobSpecLimits) {
    if (d.integer != nullptr) l.*d.integer = std::numeric_limits<int64_t>::max();
    // default_job_seconds is no bound, only what a spec without max_job_seconds gets.
    else if (d.number != &JobSpecLimits::default_job_seconds) l.*d.number = std::numeric_limits<double>::max();
  }
  l.cap_threads_at_cpus = false;
  return l;
}

absl::Status SetJobSpecLimit(const std::string& name_equals_value, JobSpecLimits* limits) {
  const size_t eq = name_equals_value.find('=');
  const std::string name = name_equals_value.substr(0, eq);
  for (const JobSpecLimitDef& d : kJobSpecLimits) {
    if (name != d.name) continue;
    const std::string value = eq == std::string::npos ? "" : name_equals_value.substr(eq + 1);
    if (d.integer != nullptr) {
      int64_t v = 0;
      if (!absl::SimpleAtoi(value, &v) || v < 1)
        return absl::InvalidArgumentError(
            absl::StrCat("job limit \"", name, "\": expected a positive integer, got \"", value, "\""));
      limits->*d.integer = v;
    } else {
      double v = 0;
      if (!absl::SimpleAtod(value, &v) || !std::isfinite(v) || v <= 0)
        return absl::InvalidArgumentError(
            absl::StrCat("job limit \"", name, "\": expected a positive number, got \"", value, "\""));
      limits->*d.number = v;
    }
    return absl::OkStatus();
  }
  std::string names;
  for (const JobSpecLimitDef& d : kJobSpecLimits) absl::StrAppend(&names, names.empty() ? "" : ", ", d.name);
  return absl::InvalidArgumentError(
      absl::StrCat("job limit \"", name, "\" is not known; expected NAME=VALUE with NAME one of ", names));
}

std::string JobSpecLimitsHelp() {
  const JobSpecLimits defaults;
  std::string out;
  for (const JobSpecLimitDef& d : kJobSpecLimits)
    absl::StrAppend(&out, "      ", d.name, " (default ",
                    d.integer != nullptr ? absl::StrCat(defaults.*d.integer) : absl::StrCat(defaults.*d.number),
                    "): ", d.help, "\n");
  return out;
}

namespace {

using json = nlohmann::json;

absl::Status FieldError(const std::string& field, const std::string& what) { return SpecFieldError(field, what); }

std::string Resolve(const std::string& base, const std::string& p) {
  if (p.empty() || p[0] == '/' || base.empty()) return p;
  return (std::filesystem::path(base) / p).lexically_normal().string();
}

using Reader = SpecReader;

#define QB_SPEC_TRY(expr)                                  \
  do {                                                     \
    if (absl::Status s_ = (expr); !s_.ok()) return s_;     \
  } while (0)

// The CPUs this process may run on (its affinity mask), at least 1.
int UsableCpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

absl::Status CheckKeys(const json& obj, const std::string& field, std::initializer_list<const char*> known) {
  return CheckSpecKeys(obj, field, known);
}

absl::Status ParseLatency(const json& l, const JobSpecLimits& limits, LatencySpec* out) {
  QB_SPEC_TRY(CheckKeys(l, "latency", {"warmup_iters", "warmup_seconds", "min_iters", "min_seconds", "max_iters", "sessions"}));
  const Reader r(l, "latency.");
  const int64_t iters = limits.latency_iters;
  const double seconds = limits.latency_seconds;
  QB_SPEC_TRY(r.Integer("warmup_iters", 0, iters, &out->warmup_iters, "latency.max_iters"));
  QB_SPEC_TRY(r.Number("warmup_seconds", 0, seconds, &out->warmup_seconds, "latency.min_seconds"));
  QB_SPEC_TRY(r.Integer("min_iters", 1, iters, &out->min_iters, "latency.max_iters"));
  QB_SPEC_TRY(r.Number("min_seconds", 0, seconds, &out->min_seconds, "latency.min_seconds"));
  QB_SPEC_TRY(r.Integer("max_iters", 1, iters, &out->max_iters, "latency.max_iters"));
  QB_SPEC_TRY(r.Integer("sessions", 1, limits.latency_sessions, &out->sessions, "latency.sessions"));
  if (out->max_iters < out->min_iters) return FieldError("latency.max_iters", "must be >= min_iters");
  return absl::OkStatus();
}

absl::Status ParseOffline(const json& o, const JobSpecLimits& limits, OfflineSpec* out) {
  QB_SPEC_TRY(CheckKeys(o, "offline", {"batch_size", "samples", "passes"}));
  const Reader r(o, "offline.");
  out->batch_size = 64;
  QB_SPEC_TRY(r.Integer("batch_size", 1, limits.batch_size, &out->batch_size, "batch_size"));
  QB_SPEC_TRY(r.Integer("samples", 1, limits.offline_samples, &out->samples, "offline.samples"));
  QB_SPEC_TRY(r.Integer("passes", 1, limits.offline_passes, &out->passes, "offline.passes"));
  if (out->samples < out->batch_size) return FieldError("offline.samples", "must be >= offline.batch_size");
  return absl::OkStatus();
}

absl::Status ParseCalibration(const json& c, const std::string& base_dir, const JobSpecLimits& limits, JobSpec* s) {
  QB_SPEC_TRY(CheckKeys(c, "calibration", {"dataset", "samples", "seed", "batch_size"}));
  const Reader r(c, "calibration.");
  QB_SPEC_TRY(r.String("dataset", &s->calibration_dataset));
  s->calibration_dataset = Resolve(base_dir, s->calibration_dataset);
  QB_SPEC_TRY(r.Integer("samples", 1, limits.calibration_samples, &s->calibration_samples, "calibration.samples"));
  QB_SPEC_TRY(r.Unsigned("seed", &s->seed));
  QB_SPEC_TRY(r.Integer("batch_size", 1, limits.batch_size, &s->calibration_batch_size, "batch_size"));
  return absl::OkStatus();
}

absl::Status ParseValidation(const json& v, const std::string& base_dir, const JobSpecLimits& limits,
                             ValidationSpec* out) {
  QB_SPEC_TRY(CheckKeys(v, "validation", {"dataset", "samples", "fraction", "seed"}));
  const Reader r(v, "validation.");
  QB_SPEC_TRY(r.String("dataset", &out->dataset));
  out->dataset = Resolve(base_dir, out->dataset);
  QB_SPEC_TRY(r.Integer("samples", 0, limits.samples, &out->samples, "samples"));
  QB_SPEC_TRY(r.Number("fraction", 0, 1, &out->fraction));
  QB_SPEC_TRY(r.Unsigned("seed", &out->seed));
  if (!(out->fraction < 1)) return FieldError("validation.fraction", "must be in [0, 1)");
  if (out->samples > 0 && out->fraction > 0) return FieldError("validation", "takes samples or fraction, not both");
  if (!out->dataset.empty() && out->fraction > 0)
    return FieldError("validation.fraction", "splits the evaluation set; with validation.dataset give samples");
  if (!out->enabled()) return FieldError("validation", "needs samples (or fraction) > 0");
  return absl::OkStatus();
}

// "search" (spec/search_spec.h), with what it needs from the rest of the spec.
absl::Status ParseSearch(const json& j, const JobSpecLimits& limits, JobSpec* s) {
  search::SearchLimits sl;
  sl.batch_size = limits.batch_size;
  sl.minutes = limits.max_job_seconds / 60;
  sl.latency_iters = limits.latency_iters;
  sl.latency_seconds = limits.latency_seconds;
  auto parsed = search::ParseSearchSpec(j, sl);
  if (!parsed.ok()) return parsed.status();
  s->search = *std::move(parsed);
  if (!s->validation.enabled())
    return FieldError("search", "needs a validation split (\"validation\"): choices by accuracy are made on it");
  if (s->search.base.rounding.quantized_inputs)
    return FieldError("search.base.weights.rounding.inputs", "\"quantized\" is not available in a search yet");
  if (s->search.base.calibration_samples > limits.calibration_samples)
    return FieldError("search.base.calibration.samples",
                      absl::StrCat("is above the job limit \"calibration.samples\" of ", limits.calibration_samples));
  return absl::OkStatus();
}

// "devices": ids or classes of attached devices (docs/devices.md), distinct.
absl::Status ParseDevices(const json& d, std::vector<std::string>* out) {
  if (!d.is_array() || d.size() > static_cast<size_t>(kMaxJobDevices))
    return FieldError("devices", absl::StrCat("must be a list of at most ", kMaxJobDevices, " device ids or classes"));
  for (size_t i = 0; i < d.size(); ++i) {
    const std::string where = absl::StrCat("devices[", i, "]");
    bool ok = d[i].is_string() && !d[i].get_ref<const std::string&>().empty() &&
              d[i].get_ref<const std::string&>().size() <= 64;
    if (ok)
      for (size_t k = 0; k < d[i].get_ref<const std::string&>().size(); ++k) {
        const char c = d[i].get_ref<const std::string&>()[k];
        ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (k > 0 && (c == '-' || c == '_')));
      }
    if (!ok) return FieldError(where, "must be a device id or class: [a-z0-9][a-z0-9_-]{0,63}");
    for (const std::string& seen : *out)
      if (seen == d[i].get_ref<const std::string&>()) return FieldError(where, "repeats a device");
    out->push_back(d[i].get<std::string>());
  }
  return absl::OkStatus();
}

absl::Status ParseSpec(const json& j, const std::string& base_dir, const JobSpecLimits& limits, JobSpec& s) {
  QB_SPEC_TRY(CheckKeys(j, "", {"name", "model", "eval_dataset", "samples", "eval_batch_size", "batch_sizes",
                                    "threads", "backend", "latency", "seed", "sub_batch", "pin_threads", "configs",
                                    "calibration", "sqnr_samples", "export_dir", "sensitivity", "profile_iters",
                                    "offline", "validation", "max_job_seconds", "search", "devices"}));
  const Reader r(j, "");
  QB_SPEC_TRY(r.String("name", &s.name));
  QB_SPEC_TRY(r.String("model", &s.model));
  QB_SPEC_TRY(r.String("eval_dataset", &s.eval_dataset));
  s.model = Resolve(base_dir, s.model);
  s.eval_dataset = Resolve(base_dir, s.eval_dataset);
  QB_SPEC_TRY(r.Integer("samples", 0, limits.samples, &s.samples, "samples"));
  QB_SPEC_TRY(r.Integer("eval_batch_size", 0, limits.batch_size, &s.eval_batch_size, "batch_size"));
  if (auto it = j.find("batch_sizes"); it != j.end()) {
    if (!it->is_array() || it->empty()) return FieldError("batch_sizes", "must be a non-empty list of integers");
    if (static_cast<int64_t>(it->size()) > limits.batch_sizes)
      return FieldError("batch_sizes", absl::StrCat("has ", it->size(), " entries, above the job limit \"batch_sizes\" of ",
                                                    limits.batch_sizes));
    s.batch_sizes.clear();
    for (size_t i = 0; i < it->size(); ++i) {
      auto b = JsonInteger((*it)[i], 1, limits.batch_size);
      if (!b.ok()) return Reader(*it, "").RangeError(absl::StrCat("batch_sizes[", i, "]"), (*it)[i],
                                                     static_cast<double>(limits.batch_size), "batch_size", b.status());
      s.batch_sizes.push_back(*b);
    }
  }
  QB_SPEC_TRY(r.Integer("threads", 0, limits.threads, &s.threads, "threads"));
  std::string backend = "onednn";
  QB_SPEC_TRY(r.String("backend", &backend));
  if (backend == "onednn") s.backend = Backend::kOneDnn;
  else if (backend == "reference") s.backend = Backend::kReference;
  else return FieldError("backend", "must be \"onednn\" or \"reference\"");
  QB_SPEC_TRY(r.Bool("pin_threads", &s.pin_threads));
  if (auto it = j.find("sub_batch"); it != j.end()) {
    if (*it == "auto") s.sub_batch = kAutoSubBatch;
    else if (*it == "off") s.sub_batch = 0;
    else if (it->is_number()) QB_SPEC_TRY(r.Integer("sub_batch", 1, limits.batch_size, &s.sub_batch, "batch_size"));
    else return FieldError("sub_batch", "must be \"auto\", \"off\" or an integer >= 1");
  }
  QB_SPEC_TRY(r.Unsigned("seed", &s.seed));
  // Defaults never exceed the limits (a server may set them below the defaults).
  s.latency.warmup_iters = std::min(s.latency.warmup_iters, limits.latency_iters);
  s.latency.min_iters = std::min(s.latency.min_iters, limits.latency_iters);
  s.latency.max_iters = std::min(s.latency.max_iters, limits.latency_iters);
  s.latency.warmup_seconds = std::min(s.latency.warmup_seconds, limits.latency_seconds);
  s.latency.min_seconds = std::min(s.latency.min_seconds, limits.latency_seconds);
  s.latency.sessions = static_cast<int>(std::min<int64_t>(s.latency.sessions, limits.latency_sessions));
  if (auto it = j.find("latency"); it != j.end()) QB_SPEC_TRY(ParseLatency(*it, limits, &s.latency));
  if (auto it = j.find("offline"); it != j.end()) QB_SPEC_TRY(ParseOffline(*it, limits, &s.offline));
  s.sqnr_samples = std::min(s.sqnr_samples, limits.sqnr_samples);
  QB_SPEC_TRY(r.Integer("sqnr_samples", 0, limits.sqnr_samples, &s.sqnr_samples, "sqnr_samples"));
  QB_SPEC_TRY(r.String("export_dir", &s.export_dir));
  QB_SPEC_TRY(r.Bool("sensitivity", &s.sensitivity));
  s.profile_iters = static_cast<int>(std::min<int64_t>(s.profile_iters, limits.profile_iters));
  QB_SPEC_TRY(r.Integer("profile_iters", 0, limits.profile_iters, &s.profile_iters, "profile_iters"));
  if (!s.export_dir.empty()) s.export_dir = Resolve(base_dir, s.export_dir);
  s.calibration_samples = std::min(s.calibration_samples, limits.calibration_samples);
  s.calibration_batch_size = std::min(s.calibration_batch_size, limits.batch_size);
  if (auto it = j.find("calibration"); it != j.end()) QB_SPEC_TRY(ParseCalibration(*it, base_dir, limits, &s));
  if (auto it = j.find("validation"); it != j.end()) QB_SPEC_TRY(ParseValidation(*it, base_dir, limits, &s.validation));
  s.max_job_seconds = std::min(limits.default_job_seconds, limits.max_job_seconds);
  QB_SPEC_TRY(r.Number("max_job_seconds", 0, limits.max_job_seconds, &s.max_job_seconds, "max_job_seconds"));
  if (!(s.max_job_seconds > 0)) return FieldError("max_job_seconds", "must be > 0");

  if (s.threads > 0 && limits.cap_threads_at_cpus) {
    const int cpus = UsableCpus();
    if (s.threads > cpus) {
      s.requested_threads = s.threads;
      s.threads = cpus;
    }
  }

  const auto configs_it = j.find("configs");
  const json default_configs = json::array({"fp32"});
  const json& configs = configs_it == j.end() ? default_configs : *configs_it;
  if (!configs.is_array() || configs.empty()) return FieldError("configs", "must be a non-empty list");
  if (static_cast<int64_t>(configs.size()) > limits.configs)
    return FieldError("configs", absl::StrCat("has ", configs.size(), " entries, above the job limit \"configs\" of ",
                                              limits.configs));
  std::set<std::string> names;
  for (size_t i = 0; i < configs.size(); ++i) {
    const std::string where = absl::StrCat("configs[", i, "]");
    auto c = quant::ParseConfig(configs[i], where);
    if (!c.ok()) return c.status();
    if (!names.insert(c->name).second) return FieldError(where, absl::StrCat("repeats the name \"", c->name, "\""));
    if (c->name == "fp32" && c->precision != quant::Precision::kFp32)
      return FieldError(where + ".name", "\"fp32\" is kept for the FP32 baseline");
    if (absl::StartsWith(c->name, kSearchConfigPrefix))
      return FieldError(where + ".name", absl::StrCat("\"", c->name, "\": names starting with \"", kSearchConfigPrefix,
                                                      "\" are reserved for a search's results"));
    if (c->calibration_samples > limits.calibration_samples)
      return FieldError(where + ".calibration.samples",
                        absl::StrCat("is ", c->calibration_samples, ", above the job limit \"calibration.samples\" of ",
                                     limits.calibration_samples));
    s.configs.push_back(*std::move(c));
  }
  s.configs_listed = configs_it != j.end();
  OrderBaselineFirst(&s.configs);
  if (auto it = j.find("search"); it != j.end()) QB_SPEC_TRY(ParseSearch(*it, limits, &s));
  if (auto it = j.find("devices"); it != j.end()) QB_SPEC_TRY(ParseDevices(*it, &s.devices));
  return absl::OkStatus();
}

}  // namespace

void OrderBaselineFirst(std::vector<quant::QuantConfig>* configs) {
  auto is_fp32 = [](const quant::QuantConfig& c) { return c.precision == quant::Precision::kFp32; };
  if (std::none_of(configs->begin(), configs->end(), is_fp32))
    configs->insert(configs->begin(), *quant::ConfigFromShortName("fp32"));
  std::stable_partition(configs->begin(), configs->end(), is_fp32);
}

absl::Status CheckJobFiles(const JobSpec& s, const JobFiles& given) {
  if (!given.model) return FieldError("model", "is required");
  if (!given.eval_dataset) return FieldError("eval_dataset", "is required");
  if (given.calibration_dataset) return absl::OkStatus();
  for (const quant::QuantConfig& c : s.configs)
    if (c.needs_calibration())
      return FieldError("calibration.dataset", absl::StrCat("is required: configuration \"", c.name,
                                                            "\" uses static activation quantization"));
  if (s.search.enabled)
    return FieldError("calibration.dataset", "is required: the search's integer choices use static activations");
  return absl::OkStatus();
}

JobFiles FilesOf(const JobSpec& s) { return {!s.model.empty(), !s.eval_dataset.empty(), !s.calibration_dataset.empty()}; }

absl::StatusOr<JobSpec> ParseJobSpecDocument(const std::string& text, const JobSpecLimits& limits) {
  auto j = ParseJson(text, "job spec");
  if (!j.ok()) return j.status();
  if (!j->is_object()) return absl::InvalidArgumentError("job spec: must be a JSON object");
  JobSpec s;
  if (absl::Status st = ParseSpec(*j, "", limits, s); !st.ok()) return st;
  return s;
}

absl::StatusOr<JobSpec> ParseJobSpec(const std::string& text, const std::string& base_dir, const JobSpecLimits& limits) {
  auto j = ParseJson(text, "job spec");
  if (!j.ok()) return j.status();
  if (!j->is_object()) return absl::InvalidArgumentError("job spec: must be a JSON object");
  JobSpec s;
  if (absl::Status st = ParseSpec(*j, base_dir, limits, s); !st.ok()) return st;
  if (absl::Status st = CheckJobFiles(s, FilesOf(s)); !st.ok()) return st;
  return s;
}

absl::StatusOr<JobSpec> LoadJobSpec(const std::string& path, const JobSpecLimits& limits) {
  std::ifstream f(path);
  if (!f) return absl::NotFoundError(absl::StrCat("job spec ", path, ": cannot open"));
  std::stringstream ss;
  ss << f.rdbuf();
  auto spec = ParseJobSpec(ss.str(), std::filesystem::path(path).parent_path().string(), limits);
  if (!spec.ok()) return absl::Status(spec.status().code(), absl::StrCat(path, ": ", spec.status().message()));
  return spec;
}

}  // namespace qbench
