#include "engine/device/protocol.h"

#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/json_parse.h"
#include "common/status.h"

namespace qbench::device {

using json = nlohmann::json;

nlohmann::json RequestJson(const DeviceDef& device, const RunnerRequest& r) {
  json eval = json::array(), timing = json::array();
  for (const EvalBatch& b : r.eval) eval.push_back({{"input", b.input}, {"output", b.output}});
  for (const TimingRequest& t : r.timing)
    timing.push_back({{"batch_size", t.batch_size},
                      {"input", t.input},
                      {"warmup_runs", t.warmup_runs},
                      {"warmup_seconds", t.warmup_seconds},
                      {"min_runs", t.min_runs},
                      {"max_runs", t.max_runs},
                      {"min_seconds", t.min_seconds}});
  return {{"protocol", kProtocolVersion},
          {"device", {{"id", device.id}, {"class", device.device_class}, {"provider", device.provider}}},
          {"model", r.model},
          {"input", r.input_name},
          {"threads", device.threads},
          {"eval", eval},
          {"timing", timing},
          {"result", "result.json"}};
}

std::string CleanWord(std::string_view s, size_t max) {
  std::string out;
  for (char c : s.substr(0, max)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

namespace {

absl::Status Malformed(const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed result.json: ", what));
}

// An optional string field, cleaned and capped.
absl::Status Word(const json& j, const char* key, size_t max, std::string* out) {
  auto it = j.find(key);
  if (it == j.end()) return absl::OkStatus();
  if (!it->is_string()) return Malformed(absl::StrCat("\"", key, "\" is not a string"));
  *out = CleanWord(it->get_ref<const std::string&>(), max);
  return absl::OkStatus();
}

absl::Status Words(const json& j, const char* key, size_t max_items, size_t max_bytes, std::vector<std::string>* out) {
  auto it = j.find(key);
  if (it == j.end()) return absl::OkStatus();
  if (!it->is_array() || it->size() > max_items)
    return Malformed(absl::StrCat("\"", key, "\" is not a list of at most ", max_items, " strings"));
  for (const json& v : *it) {
    if (!v.is_string()) return Malformed(absl::StrCat("\"", key, "\" holds a non-string"));
    out->push_back(CleanWord(v.get_ref<const std::string&>(), max_bytes));
  }
  return absl::OkStatus();
}

absl::StatusOr<RunnerTiming> ParseTiming(const json& t) {
  if (!t.is_object()) return Malformed("a \"timings\" entry is not an object");
  RunnerTiming out;
  auto bs = t.find("batch_size");
  if (bs == t.end()) return Malformed("a \"timings\" entry has no \"batch_size\"");
  auto b = JsonInteger(*bs, 1, int64_t{1} << 40);
  if (!b.ok()) return Malformed(absl::StrCat("\"batch_size\" ", b.status().message()));
  out.batch_size = *b;
  auto ms = t.find("ms");
  if (ms == t.end() || !ms->is_array() || ms->empty())
    return Malformed(absl::StrCat("batch size ", out.batch_size, ": \"ms\" is not a non-empty list"));
  for (const json& v : *ms) {
    auto x = JsonNumber(v, 0, 1e9);
    if (!x.ok() || !(*x > 0))
      return Malformed(absl::StrCat("batch size ", out.batch_size, ": a time is not a positive number of ms"));
    out.ms.push_back(*x);
  }
  if (auto e = t.find("energy_j"); e != t.end()) {
    auto x = JsonNumber(*e, 0, 1e12);
    if (!x.ok()) return Malformed(absl::StrCat("batch size ", out.batch_size, ": \"energy_j\" ", x.status().message()));
    out.energy_j = *x;
    QB_RETURN_IF_ERROR(Word(t, "energy_meter", kMaxWordBytes, &out.energy_meter));
  }
  return out;
}

}  // namespace

absl::StatusOr<RunnerResult> ParseRunnerResult(std::string_view text, const RunnerRequest& request) {
  if (text.size() > kMaxResultBytes) return Malformed("larger than 4 MiB");
  JsonLimits limits;
  limits.max_bytes = kMaxResultBytes;
  limits.max_depth = 8;
  QB_ASSIGN_OR_RETURN(json j, ParseJson(text, "result.json", limits));
  if (!j.is_object()) return Malformed("not a JSON object");
  RunnerResult r;
  QB_RETURN_IF_ERROR(Word(j, "runtime", kMaxWordBytes, &r.runtime));
  QB_RETURN_IF_ERROR(Word(j, "version", kMaxWordBytes, &r.version));
  QB_RETURN_IF_ERROR(Word(j, "provider", kMaxWordBytes, &r.provider));
  QB_RETURN_IF_ERROR(Words(j, "notes", kMaxNotes, kMaxNoteBytes, &r.notes));
  auto ts = j.find("timings");
  if (ts == j.end() || !ts->is_array()) return Malformed("\"timings\" is missing or not a list");
  if (ts->size() != request.timing.size())
    return Malformed(absl::StrCat(ts->size(), " timing entries for ", request.timing.size(), " batch sizes"));
  std::vector<std::optional<RunnerTiming>> by_request(request.timing.size());
  for (const json& t : *ts) {
    QB_ASSIGN_OR_RETURN(RunnerTiming rt, ParseTiming(t));
    size_t k = 0;
    while (k < request.timing.size() && request.timing[k].batch_size != rt.batch_size) ++k;
    if (k == request.timing.size()) return Malformed(absl::StrCat("batch size ", rt.batch_size, " was not requested"));
    if (by_request[k]) return Malformed(absl::StrCat("batch size ", rt.batch_size, " appears twice"));
    if (static_cast<int64_t>(rt.ms.size()) > request.timing[k].max_runs)
      return Malformed(absl::StrCat("batch size ", rt.batch_size, ": ", rt.ms.size(), " times, above max_runs ",
                                    request.timing[k].max_runs));
    by_request[k] = std::move(rt);
  }
  for (auto& t : by_request) r.timings.push_back(std::move(*t));
  return r;
}

absl::StatusOr<RunnerDescription> ParseDescription(std::string_view text) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line.front() != '{') continue;
    JsonLimits limits;
    limits.max_bytes = 64 << 10;
    limits.max_depth = 4;
    auto j = ParseJson(line, "--describe", limits);
    if (!j.ok() || !j->is_object()) continue;
    RunnerDescription d;
    QB_RETURN_IF_ERROR(Word(*j, "runtime", kMaxWordBytes, &d.runtime));
    QB_RETURN_IF_ERROR(Word(*j, "version", kMaxWordBytes, &d.version));
    QB_RETURN_IF_ERROR(Words(*j, "providers", kMaxNotes, kMaxWordBytes, &d.providers));
    QB_RETURN_IF_ERROR(Words(*j, "meters", kMaxNotes, kMaxWordBytes, &d.meters));
    if (d.runtime.empty()) return absl::InvalidArgumentError("--describe: no \"runtime\"");
    return d;
  }
  return absl::InvalidArgumentError("--describe printed no JSON object line");
}

}  // namespace qbench::device
