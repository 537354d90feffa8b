#include "engine/kernels/reference/transpose.h"

#include <cstring>
#include <vector>

#include "engine/kernels/reference/strided.h"

namespace qbench {

void ReferenceTranspose(const TransposeParams& p, const Tensor& src, Tensor* dst) {
  const std::vector<int64_t> src_strides = Strides(src.shape());
  std::vector<int64_t> strides(p.perm.size());
  for (size_t k = 0; k < p.perm.size(); ++k) strides[k] = src_strides[p.perm[k]];
  const size_t size = SizeOf(src.dtype());
  const auto* s = static_cast<const uint8_t*>(src.raw());
  auto* d = static_cast<uint8_t*>(dst->raw());
  for (int64_t i = 0; i < dst->num_elements(); ++i)
    std::memcpy(d + i * size, s + StridedOffset(i, dst->shape(), strides) * size, size);
}

}  // namespace qbench
