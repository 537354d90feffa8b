// Datasets for accuracy measurement: indexed samples with integer labels, each decoded
// and preprocessed into the model's input layout on demand.
//
// Open one from a JSON manifest (see manifest.h for the format):
//   QB_ASSIGN_OR_RETURN(auto ds, data::OpenDataset("bench/datasets/mnist.json"));
//   QB_ASSIGN_OR_RETURN(Tensor batch, data::LoadBatch(*ds, {0, 1, 2, 3}, /*threads=*/2));
//
// Sample order is deterministic: idx/npy in file order, image_folder by class index then
// file name, imagenet by file name. IDX and NPY files are read whole at open (they are
// small); folder datasets decode each image when it is loaded.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/core/shape.h"
#include "engine/core/tensor.h"

namespace qbench::data {

struct Manifest;

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // One sample, no batch dim: {C,H,W} (nchw) or {H,W,C} (nhwc); npy: the array's shape[1:].
  virtual const Shape& sample_shape() const = 0;
  virtual int num_classes() const = 0;
  // label() and sample_name() take an index in [0, size()); Load() checks its index.
  virtual int label(int64_t index) const = 0;
  // The image's path relative to the dataset root, or "idx:123" / "npy:123".
  virtual std::string sample_name(int64_t index) const = 0;
  // Writes NumElements(sample_shape()) floats for sample `index` into dst. Thread-safe:
  // may be called concurrently for any indices.
  virtual absl::Status Load(int64_t index, float* dst) const = 0;
};

absl::StatusOr<std::unique_ptr<Dataset>> OpenDataset(const std::string& manifest_path);
// `base_dir` resolves relative paths in the manifest.
absl::StatusOr<std::unique_ptr<Dataset>> OpenDatasetFromJson(const std::string& json_text,
                                                             const std::string& base_dir);
absl::StatusOr<std::unique_ptr<Dataset>> OpenDatasetFromManifest(const Manifest& manifest);

// Gathers samples into one f32 tensor {N, sample_shape...}, decoding with up to `threads`
// std::threads. The first failing sample (in `indices` order) is reported with its
// position and name.
absl::StatusOr<Tensor> LoadBatch(const Dataset& ds, const std::vector<int64_t>& indices, int threads = 1);

}  // namespace qbench::data
