// Index arithmetic shared by the reference data-movement kernels: an output element's
// linear index is split into coordinates, and a source offset is sum(coord[k] * stride[k])
// for per-dimension source strides (0 for a broadcast dimension). Clear, not fast.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/core/shape.h"

namespace qbench {

// Strides (in elements) for reading `in` while walking the numpy-broadcast shape `out`:
// `in` is aligned to the trailing dims of `out`; its missing leading dims and its dims of
// size 1 get stride 0, so every output coordinate there reads the same element.
inline std::vector<int64_t> BroadcastStrides(const Shape& in, const Shape& out) {
  std::vector<int64_t> strides(out.size(), 0);
  const std::vector<int64_t> row_major = Strides(in);
  const size_t lead = out.size() - in.size();
  for (size_t k = 0; k < in.size(); ++k) strides[lead + k] = in[k] == 1 ? 0 : row_major[k];
  return strides;
}

// Source offset of output element `i` (row-major over `out`) for the given strides.
inline int64_t StridedOffset(int64_t i, const Shape& out, std::span<const int64_t> strides) {
  int64_t offset = 0;
  for (int k = static_cast<int>(out.size()) - 1; k >= 0; --k) {
    offset += (i % out[k]) * strides[k];
    i /= out[k];
  }
  return offset;
}

}  // namespace qbench
