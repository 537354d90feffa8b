// Turning a local job spec into a CreateJob request: the spec's "model", "eval_dataset"
// and "calibration.dataset" paths are resolved against the spec's folder, removed from
// the JSON, and replaced by ArtifactRefs (uploaded blobs, or shared paths).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "qbench/v1/qbench.pb.h"

namespace qbench::client {

struct ResolvedSpec {
  nlohmann::json spec;  // the spec without its three path fields; everything else unchanged
  // Absolute paths; empty when the spec does not name one.
  std::string model, eval_dataset, calibration_dataset;
};

// Parses a job spec (spec/job_spec.h); `source` names it in errors.
absl::StatusOr<ResolvedSpec> ResolveSpec(const std::string& json_text, const std::string& base_dir,
                                         const std::string& source);
absl::StatusOr<ResolvedSpec> ReadSpecFile(const std::string& path);

// The common case as flags: `submit --model M --data D [--calib C] --configs a,b`.
struct QuickSpec {
  std::string model, data, calib;
  std::vector<std::string> configs;
  int64_t samples = -1;              // < 0: the spec's default (the whole dataset)
  std::vector<int64_t> batch_sizes;  // empty: the spec's default
};
// Builds the spec JSON ("name" is the model's file stem); relative paths are against the
// working directory.
absl::StatusOr<ResolvedSpec> SpecFromFlags(const QuickSpec& q);

// A search from the command line (`submit --search ...`, `qbench search`): `search` is an
// inline JSON object or a file holding one (it replaces the spec's "search"), and each
// set shorthand overrides one field of it. Empty strings are unset.
struct SearchFlags {
  std::string search;  // '{"max_drop": 0.5}' or FILE.json
  std::string max_drop, objective, batch_size, evaluations, minutes;
  std::vector<std::string> choices;
  bool any() const {
    return !search.empty() || !max_drop.empty() || !objective.empty() || !batch_size.empty() ||
           !evaluations.empty() || !minutes.empty() || !choices.empty();
  }
};
// Puts the search into spec.spec. A search chooses by accuracy on validation samples:
// a spec without "validation" gets half of its evaluation samples as the validation
// split (seed 0), and `*note` says so. INVALID_ARGUMENT naming the flag for a bad value
// (the worker's parser checks the rest, with the server's when the job is created).
absl::Status ApplySearchFlags(const SearchFlags& f, ResolvedSpec* spec, std::string* note);

// Uploads a local file and returns "blobs/<sha256>"; with `dataset`, `path` is a
// manifest to pack first.
using Uploader = std::function<absl::StatusOr<std::string>(const std::string& path, bool dataset)>;

// The request with refs for each path: shared paths when `shared`, else blobs from
// `upload`, called once per distinct path (a manifest used for evaluation and
// calibration is uploaded once). request_id, display name and device are left to the
// caller.
absl::StatusOr<qbench::v1::CreateJobRequest> BuildCreateJobRequest(const ResolvedSpec& spec, bool shared,
                                                                   const Uploader& upload);

// A random version-4 UUID ("3f2a...-...."): the default idempotency key of one `submit`.
std::string NewRequestId();

}  // namespace qbench::client
