// Shared between the dataset implementations; not part of the public API.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "engine/data/dataset.h"
#include "spec/manifest.h"

namespace qbench::data::internal {

// One factory per format (dataset.cc dispatches on Manifest::format).
absl::StatusOr<std::unique_ptr<Dataset>> OpenIdxDataset(const Manifest& m);
absl::StatusOr<std::unique_ptr<Dataset>> OpenNpyDataset(const Manifest& m);
absl::StatusOr<std::unique_ptr<Dataset>> OpenImageFolderDataset(const Manifest& m);
absl::StatusOr<std::unique_ptr<Dataset>> OpenImageNetDataset(const Manifest& m);

// Number of samples kept from `available` when the manifest sets a limit.
inline int64_t ApplyLimit(int64_t available, int64_t limit) {
  return limit > 0 && limit < available ? limit : available;
}

// "index 12 out of range [0, 10)" as OutOfRange, or OK.
absl::Status CheckIndex(int64_t index, int64_t size);

}  // namespace qbench::data::internal
