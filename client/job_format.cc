#include "client/job_format.h"

#include <algorithm>
#include <vector>

#include <google/protobuf/util/json_util.h>

#include "spec/job_state.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"

namespace qbench::client {
namespace {

namespace v1 = qbench::v1;

// Fixed-width columns; the last one is not padded.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i)
      absl::StrAppend(&line, i ? "  " : "", r[i], i + 1 < r.size() ? std::string(width[i] - r[i].size(), ' ') : "");
    while (!line.empty() && line.back() == ' ') line.pop_back();
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

std::string Ref(const v1::ArtifactRef& r) {
  switch (r.source_case()) {
    case v1::ArtifactRef::kBlob:
      return r.manifest().empty() ? r.blob() : absl::StrCat(r.blob(), " (manifest ", r.manifest(), ")");
    case v1::ArtifactRef::kSharedPath: return r.shared_path();
    case v1::ArtifactRef::SOURCE_NOT_SET: return "-";
  }
  return "-";
}

std::string Device(const v1::DeviceSelector& d) {
  switch (d.target_case()) {
    case v1::DeviceSelector::kDeviceClass: return "class " + d.device_class();
    case v1::DeviceSelector::kDevice: return d.device();
    case v1::DeviceSelector::TARGET_NOT_SET: return "any CPU worker";
  }
  return "-";
}

std::string ProgressText(const v1::ConfigProgress& p) {
  return absl::StrCat(p.config(), " ", StageName(p.stage()), " ", p.done(), "/", p.total(),
                      p.note().empty() ? "" : absl::StrCat(": ", p.note()));
}

}  // namespace

std::string StateName(v1::JobState s) { return s == v1::JOB_STATE_UNSPECIFIED ? "" : v1::JobState_Name(s); }
std::string StageName(v1::Stage s) { return s == v1::STAGE_UNSPECIFIED ? "" : v1::Stage_Name(s); }

// Terminal as spec/job_state.h defines it, read through the API's value name.
bool IsTerminal(v1::JobState s) {
  const std::optional<JobState> state = ParseApiJobState(v1::JobState_Name(s));
  return state && qbench::IsTerminal(*state);
}

std::string FormatTime(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(t.seconds()), absl::LocalTimeZone());
}

std::string FormatResultSummary(const v1::ConfigResult& r) {
  if (!r.error().empty()) return absl::StrCat("result ", r.config(), ": error: ", r.error());
  std::string out = absl::StrFormat("result %s: top-1 %.2f%%", r.config(), r.top1() * 100);
  if (!r.is_baseline())  // the baseline the server flags (the job's FP32 reference), whatever its name
    absl::StrAppendFormat(&out, " (%+.2f pts), agreement %.2f%%, SQNR %.1f dB", r.top1_delta_vs_fp32() * 100,
                          r.agreement_with_fp32() * 100, r.output_sqnr_db());
  if (r.latency_size() > 0) {
    const v1::BatchLatency& l = r.latency(0);
    absl::StrAppendFormat(&out, ", p50 %.3f ms", l.p50_ms());
    if (l.sessions() > 0)  // a server from before the latency detail sends no interval
      absl::StrAppendFormat(&out, " [%.3f, %.3f]", l.median_ci_low_ms(), l.median_ci_high_ms());
    absl::StrAppendFormat(&out, " at batch %d", l.batch_size());
  }
  if (r.model_size_bytes() > 0) absl::StrAppendFormat(&out, ", %.1f KiB", r.model_size_bytes() / 1024.0);
  return out;
}

std::string FormatEvent(const v1::JobEvent& e) {
  switch (e.kind_case()) {
    case v1::JobEvent::kStateChanged: {
      const auto& s = e.state_changed();
      std::string out = "state " + StateName(s.state());
      if (s.stage() != v1::STAGE_UNSPECIFIED) absl::StrAppend(&out, " (", StageName(s.stage()), ")");
      if (!s.reason().empty()) absl::StrAppend(&out, ": ", s.reason());
      return out;
    }
    case v1::JobEvent::kProgress: return ProgressText(e.progress());
    case v1::JobEvent::kResult: return FormatResultSummary(e.result());
    case v1::JobEvent::KIND_NOT_SET: break;
  }
  return absl::StrCat("event ", e.sequence());
}

std::string FormatJob(const v1::Job& j) {
  std::vector<std::vector<std::string>> rows = {
      {"name:", j.name()},
      {"display name:", j.display_name()},
      {"team:", j.team()},
      {"state:", StateName(j.state()) + (j.stage() != v1::STAGE_UNSPECIFIED ? " (" + StageName(j.stage()) + ")" : "")},
  };
  if (!j.failure_reason().empty()) rows.push_back({"failure:", j.failure_reason()});
  rows.push_back({"model:", Ref(j.model())});
  rows.push_back({"eval dataset:", Ref(j.eval_dataset())});
  rows.push_back({"calibration:", Ref(j.calibration_dataset())});
  rows.push_back({"device:", Device(j.device())});
  if (!j.request_id().empty()) rows.push_back({"request id:", j.request_id()});
  rows.push_back({"attempts:", absl::StrCat(j.attempts())});
  if (!j.worker().empty()) rows.push_back({"worker:", j.worker()});
  rows.push_back({"created:", FormatTime(j.create_time())});
  rows.push_back({"started:", FormatTime(j.start_time())});
  rows.push_back({"ended:", FormatTime(j.end_time())});
  for (const v1::ConfigProgress& p : j.progress()) rows.push_back({"progress:", ProgressText(p)});
  return Table(rows);
}

std::string FormatJobTable(const google::protobuf::RepeatedPtrField<v1::Job>& jobs) {
  std::vector<std::vector<std::string>> rows = {{"NAME", "STATE", "STAGE", "DISPLAY NAME", "CREATED", "WORKER"}};
  for (const v1::Job& j : jobs)
    rows.push_back({j.name(), StateName(j.state()), j.stage() ? StageName(j.stage()) : "-", j.display_name(),
                    FormatTime(j.create_time()), j.worker().empty() ? "-" : j.worker()});
  return Table(rows);
}

std::string FormatWorkerTable(const google::protobuf::RepeatedPtrField<v1::Worker>& workers) {
  std::vector<std::vector<std::string>> rows = {
      {"DEVICE", "CLASS", "RUNNER", "RUNTIME", "ONLINE", "ISA", "CORES", "ENERGY METERS", "LAST HEARTBEAT"}};
  auto join = [](const auto& list) { return list.empty() ? std::string("-") : absl::StrJoin(list, ","); };
  for (const v1::Worker& w : workers) {
    // The worker's own device runs oneDNN on its CPU; an attached one names its runner,
    // the runtime it reported (with its providers) and its own meters.
    auto add = [&](const std::string& name, const std::string& cls, const v1::Device* d) {
      const bool attached = d != nullptr && !d->runner().empty();
      std::string runtime = attached ? absl::StrCat(d->runtime(), " ", d->runtime_version())
                                     : absl::StrCat("oneDNN ", w.onednn_version());
      if (attached && !d->providers().empty()) absl::StrAppend(&runtime, " (", absl::StrJoin(d->providers(), ","), ")");
      rows.push_back({name, cls, attached ? d->runner() : "onednn", runtime, w.online() ? "yes" : "no",
                      w.isa().empty() ? "-" : w.isa(), absl::StrCat(w.cores()),
                      attached ? join(d->meters()) : join(w.energy_meters()), FormatTime(w.last_heartbeat_time())});
    };
    if (w.devices().empty()) add(w.name(), "-", nullptr);
    for (const v1::Device& d : w.devices()) add(d.name(), d.device_class(), &d);
  }
  return Table(rows);
}

std::vector<std::string> WorkersWithDevices(const google::protobuf::RepeatedPtrField<v1::Worker>& workers,
                                            const std::vector<std::string>& selectors) {
  std::vector<std::string> out;
  for (const v1::Worker& w : workers) {
    if (!w.online()) continue;
    auto has = [&](const std::string& sel) {
      for (const v1::Device& d : w.devices())
        if (d.device_class() == sel || d.name().substr(d.name().rfind('/') + 1) == sel) return true;
      return false;
    };
    if (std::all_of(selectors.begin(), selectors.end(), has)) out.push_back(w.name());
  }
  return out;
}

std::string ProtoJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out, options);  // fails only on Any without a resolver
  return out;
}

}  // namespace qbench::client
