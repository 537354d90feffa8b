#include "engine/kernels/reference/concat.h"

#include <cstring>

namespace qbench {

void ReferenceConcat(const ConcatParams& p, std::span<const Tensor> srcs, Tensor* dst) {
  const Shape& out = dst->shape();
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < p.axis; ++k) outer *= out[k];
  for (size_t k = p.axis + 1; k < out.size(); ++k) inner *= out[k];
  const size_t size = SizeOf(dst->dtype());
  auto* d = static_cast<uint8_t*>(dst->raw());
  for (int64_t o = 0; o < outer; ++o) {
    for (const Tensor& src : srcs) {
      // One [dim(axis), inner] block of this input, contiguous in both tensors.
      const size_t block = static_cast<size_t>(src.dim(p.axis) * inner) * size;
      if (block == 0) continue;
      std::memcpy(d, static_cast<const uint8_t*>(src.raw()) + o * block, block);
      d += block;
    }
  }
}

}  // namespace qbench
