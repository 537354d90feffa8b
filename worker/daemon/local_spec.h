// Turns a claimed job's spec into one this worker can run: its model and datasets point
// at local files (the asset cache, or the shared paths as they are), its configurations
// are the job's, and exports go to a per-job directory. The stored spec is parsed once,
// by the spec library, and completed as a typed JobSpec.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "server/store/jobs.h"
#include "server/store/queue.h"
#include "spec/job_spec.h"
#include "worker/daemon/asset_cache.h"

namespace qbench::worker {

// The job's spec (ParseJobSpecDocument under `limits`), completed:
//   model               <- assets.model, else the spec's own path (checked to exist)
//   eval_dataset        <- assets.eval_dataset's manifest, likewise
//   calibration_dataset <- assets.calibration_dataset's manifest, likewise
//   validation.dataset  <- the spec's own path (checked to exist)
//   configs             <- kept when the spec lists them (the server derived the job's
//                          configuration names from that list); otherwise the job's
//                          configurations: each one's spec_json object with its name, or
//                          its name as a short name ("w8a8") when the object is empty
//   export_dir          <- `export_dir` (nothing when empty)
// then CheckJobFiles. Errors name the field and the path ("model: shared path \"/x.onnx\"
// does not exist ...").
absl::StatusOr<JobSpec> LocalJobSpec(const store::ClaimedJob& job, const store::JobAssets& assets, AssetCache& cache,
                                     const std::string& export_dir, const JobSpecLimits& limits = JobSpecLimits());

}  // namespace qbench::worker
