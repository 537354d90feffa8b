// IDX files (the MNIST / Fashion-MNIST format).
//
// Layout, all integers big-endian:
//   magic  = 0x00 0x00 <type> <ndim>      type 0x08 = unsigned byte (the only one we read)
//   dims   = ndim x uint32                images: count, rows, cols (magic 0x803);
//                                         labels: count (magic 0x801)
//   data   = prod(dims) bytes, row-major
// Files may be gzip-compressed; that is detected from the content (gzip magic 1f 8b).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace qbench::data {

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;  // prod(dims) bytes
};

// Reads an unsigned-byte IDX file whose rank must be `expected_rank` (3 for images,
// 1 for labels). Errors name the file: bad magic, wrong rank or type, truncation.
absl::StatusOr<IdxArray> ReadIdx(const std::string& path, int expected_rank);

// The same from bytes already in memory (uncompressed); `name` is for errors.
absl::StatusOr<IdxArray> ParseIdx(std::vector<uint8_t> bytes, const std::string& name, int expected_rank);

}  // namespace qbench::data
