#include "engine/kernels/reference/gather.h"

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/ops/op_util.h"

namespace qbench {

absl::Status ReferenceGather(const Node& node, const GatherParams& p, const Tensor& data, const Tensor& indices,
                             Tensor* dst) {
  const Shape& shape = data.shape();
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < p.axis; ++k) outer *= shape[k];
  for (size_t k = p.axis + 1; k < shape.size(); ++k) inner *= shape[k];
  const int64_t d = shape[p.axis];
  std::vector<int64_t> idx(indices.num_elements());
  for (size_t j = 0; j < idx.size(); ++j) {
    idx[j] = indices.dtype() == DType::kS64 ? indices.data<int64_t>()[j] : indices.data<int32_t>()[j];
    if (idx[j] < -d || idx[j] >= d)
      return NodeError(node, absl::StrCat("index ", idx[j], " out of range [", -d, ", ", d - 1, "] for axis ", p.axis,
                                          " of ", ShapeToString(shape)));
    if (idx[j] < 0) idx[j] += d;
  }
  const size_t block = static_cast<size_t>(inner) * SizeOf(data.dtype());  // one data[o, i, :] slice
  if (block == 0) return absl::OkStatus();
  const auto* s = static_cast<const uint8_t*>(data.raw());
  auto* out = static_cast<uint8_t*>(dst->raw());
  const int64_t n = static_cast<int64_t>(idx.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < n; ++j) std::memcpy(out + (o * n + j) * block, s + (o * d + idx[j]) * block, block);
  return absl::OkStatus();
}

}  // namespace qbench
