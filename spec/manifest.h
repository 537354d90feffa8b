// Dataset manifests: a JSON file that says where a dataset's files are and how to turn
// each sample into the model's input.
//
//   {
//     "name": "mnist-test",                      optional, for logs
//     "format": "idx" | "image_folder" | "imagenet" | "npy",
//     "images": "path",   idx: images idx file (gzip or raw); npy: float32/uint8 array [N, ...]
//     "labels": "path",   idx: labels idx file; npy: int64/int32/uint8 array [N];
//                         image_folder: class names in index order, one per line;
//                         imagenet: synset list, "wnid description" per line
//     "root": "dir",      image_folder: one sub-folder per class; imagenet: <wnid>_*.JPEG files
//     "limit": 1000,      optional: only the first N samples of the deterministic order
//     "preprocess": { "resize_shorter", "resize": [H, W], "center_crop": [H, W] or S,
//                     "channels": 1 | 3, "scale", "mean": [...], "std": [...],
//                     "channel_order": "rgb" | "bgr", "layout": "nchw" | "nhwc" }
//   }
//
// Trusted local manifests (bench/datasets/) may use ${NAME} environment variables in
// paths; manifests from uploaded archives or shared volumes may not (a worker daemon
// confines them: path_util.h, ConfineDataAccess), and may only name regular files inside
// their own folder (an archive's) or the worker's shared roots, checked on real paths.
// Relative paths are resolved against the manifest's directory. Unknown keys are errors.
// `//` comments are allowed. At most 1 MiB and 16 levels of nesting.
//
// npy datasets hold samples that are already laid out: only scale, mean, std and layout
// apply (layout says which sample axis is the channel axis for mean/std: the first for
// nchw, the last for nhwc, when the sample has rank 3). Their scale defaults to 1 for
// float32 arrays (already real values) and 1/255 for uint8 arrays (raw pixels).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "spec/path_util.h"
#include "spec/preprocess_config.h"

namespace qbench::data {

enum class DatasetFormat { kIdx, kImageFolder, kImageNet, kNpy };

std::string_view FormatName(DatasetFormat format);

struct Manifest {
  std::string source;   // "manifest /abs/path.json": the prefix of every error message
  std::string name;
  DatasetFormat format = DatasetFormat::kIdx;
  std::string images;   // resolved paths; empty when the format does not use them
  std::string labels;
  std::string root;
  int64_t limit = 0;    // > 0: keep only the first `limit` samples
  PreprocessConfig preprocess;  // channels/scale defaults filled in for the format
  bool scale_given = false;     // "preprocess.scale" was in the file (npy picks a default)
  std::string base_dir;         // the manifest's folder
  ManifestRules rules;          // what it was allowed (readers check every file they open)

  // "manifest /x.json: field \"preprocess.mean\" " + message, as InvalidArgument.
  absl::Status FieldError(std::string_view field, std::string_view message) const;
};

// Parses and validates manifest text. `base_dir` resolves relative paths; `source`
// names the manifest in errors (normally its path).
// `rules`: the default trusts the text (${NAME} expanded, any path).
absl::StatusOr<Manifest> ParseManifest(const std::string& json_text, const std::string& base_dir,
                                       const std::string& source, const ManifestRules& rules = {});

// Reads the file and parses it with its directory as base_dir, under the process's data
// policy (RulesForManifest), or under explicit rules.
absl::StatusOr<Manifest> ReadManifest(const std::string& path);
absl::StatusOr<Manifest> ReadManifest(const std::string& path, const ManifestRules& rules);

// For manifests that hide paths: `s` with the manifest's folder and roots cut out of the
// message, so failure reasons name files relative to the dataset, never where the worker
// keeps them. Other manifests: `s` unchanged.
absl::Status ScrubPaths(const absl::Status& s, const Manifest& m);

}  // namespace qbench::data
