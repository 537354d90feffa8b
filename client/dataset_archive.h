// Dataset archives: a dataset manifest and the files it references in one tar, so a job
// can ship its data as a single content-addressed blob that workers unpack.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace qbench::client {

// Packs a dataset manifest (spec/manifest.h format) and the files it
// references ("images", "labels", "root" directory) into one uncompressed ustar archive
// at out_path: the referenced files go under "data/<basename>" (the root directory
// recursively under "data/<dirname>/..."), and the manifest is rewritten with those
// relative paths and stored as "dataset.json" at the archive root. Deterministic (sorted
// entries, mtime 0, uid/gid 0, mode 0644/0755) so the same dataset always has the same
// digest (dedup). Errors name the manifest and the field.
absl::Status PackDataset(const std::string& manifest_path, const std::string& out_path);

// Extracts an archive made by PackDataset (or any plain ustar / gzip'd tar with regular
// files and directories only) into dir; rejects absolute paths, "..", links and devices
// with INVALID_ARGUMENT naming the entry.
absl::Status ExtractArchive(const std::string& archive_path, const std::string& dir);

}  // namespace qbench::client
