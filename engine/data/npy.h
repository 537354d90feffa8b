// NumPy .npy files: the exchange format between the engine and Python/Node scripts.
//
// Format (numpy.lib.format): magic "\x93NUMPY", major, minor version bytes, then the
// header length (uint16 little-endian for v1.x, uint32 for v2.x/v3.x), then an ASCII
// Python dict {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
// spaces and a final '\n' so that the data starts at a multiple of 64 bytes; then the
// raw elements in C (row-major) order.
//
// Supported dtypes: '<f4' (f32), '|u1' (u8), '|i1' (s8), '<i4' (s32), '<i8' (s64).
// Big-endian data and fortran_order True are rejected with an error naming the file.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/core/tensor.h"

namespace qbench::data {

absl::StatusOr<Tensor> ReadNpy(const std::string& path);

// Parses .npy bytes already in memory; `name` is used in error messages.
absl::StatusOr<Tensor> ParseNpy(const uint8_t* data, size_t size, const std::string& name);

// Writes a v1.0 file (v2.0 only if the header would not fit in 64 KiB).
absl::Status WriteNpy(const std::string& path, const Tensor& t);

}  // namespace qbench::data
