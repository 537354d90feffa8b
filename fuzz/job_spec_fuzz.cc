// libFuzzer target: bytes as a job spec, through the spec library's parsers (the complete
// form `qbench-worker --local` runs, the document form the server and workers complete),
// the server's CreateJob validation, and as a ListJobs filter. None may crash, hang or
// throw; a spec any of them accepts must be inside the default limits, with its baseline
// first (issue 17: 1e400, deep nesting, narrowing, uncapped iterations and samples).
#include <cstddef>
#include <cstdint>
#include <string>

#include "qbench/v1/qbench.pb.h"
#include "server/job_validation.h"
#include "spec/job_spec.h"

namespace {

// Traps (a crash the fuzzer reports) when an accepted spec is outside the limits.
void CheckWithinLimits(const qbench::JobSpec& s, const qbench::JobSpecLimits& l) {
  bool ok = s.samples >= 0 && s.samples <= l.samples && s.eval_batch_size >= 0 && s.eval_batch_size <= l.batch_size &&
            !s.batch_sizes.empty() && static_cast<int64_t>(s.batch_sizes.size()) <= l.batch_sizes &&
            s.threads >= 0 && s.threads <= l.threads && s.latency.min_iters >= 1 &&
            s.latency.max_iters >= s.latency.min_iters && s.latency.max_iters <= l.latency_iters &&
            s.latency.warmup_iters >= 0 && s.latency.warmup_iters <= l.latency_iters &&
            s.latency.min_seconds >= 0 && s.latency.min_seconds <= l.latency_seconds &&
            s.latency.warmup_seconds >= 0 && s.latency.warmup_seconds <= l.latency_seconds &&
            s.latency.sessions >= 1 && s.latency.sessions <= l.latency_sessions &&
            s.offline.samples <= l.offline_samples && s.offline.batch_size <= l.batch_size &&
            s.offline.passes >= 1 && s.offline.passes <= l.offline_passes &&
            s.calibration_samples >= 1 && s.calibration_samples <= l.calibration_samples &&
            s.calibration_batch_size >= 1 && s.calibration_batch_size <= l.batch_size &&
            s.sqnr_samples >= 0 && s.sqnr_samples <= l.sqnr_samples && s.profile_iters >= 0 &&
            s.profile_iters <= l.profile_iters && s.max_job_seconds > 0 && s.max_job_seconds <= l.max_job_seconds &&
            !s.configs.empty() && static_cast<int64_t>(s.configs.size()) <= l.configs + 1;
  for (int64_t b : s.batch_sizes) ok = ok && b >= 1 && b <= l.batch_size;
  for (const auto& c : s.configs) ok = ok && c.calibration_samples >= 0 && c.calibration_samples <= l.calibration_samples;
  ok = ok && s.configs[0].precision == qbench::quant::Precision::kFp32;  // the baseline first
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const qbench::JobSpecLimits limits;
  auto spec = qbench::ParseJobSpec(text, "/base");
  if (spec.ok()) CheckWithinLimits(*spec, limits);
  auto doc = qbench::ParseJobSpecDocument(text);
  if (doc.ok()) {
    CheckWithinLimits(*doc, limits);
    // The complete form accepts exactly the documents whose own paths give their files.
    if (spec.ok() != qbench::CheckJobFiles(*doc, qbench::FilesOf(*doc)).ok()) __builtin_trap();
  } else if (spec.ok()) {
    __builtin_trap();
  }

  qbench::v1::CreateJobRequest request;
  request.set_spec_json(text);
  auto job = qbench::server::ValidateCreateJob(request, "acme", qbench::server::JobLimits{});
  if (job.ok() && (job->config_names.empty() || job->samples < 0)) __builtin_trap();
  // The same bytes as a ListJobs filter ("state = RUNNING AND display_name = \"x\"").
  auto filter = qbench::server::ParseJobFilter(text);
  if (filter.ok() && filter->state && !qbench::ParseJobState(qbench::JobStateName(*filter->state))) __builtin_trap();
  return 0;
}
