#include "engine/kernels/reference/pad.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace qbench {

void ReferencePad(const PadParams& p, const Tensor& src, Tensor* dst) {
  const Shape& in = src.shape();
  const Shape& out = dst->shape();
  const int rank = static_cast<int>(out.size());
  const std::vector<int64_t> strides = Strides(in);
  const size_t size = SizeOf(src.dtype());
  const auto* s = static_cast<const uint8_t*>(src.raw());
  auto* d = static_cast<uint8_t*>(dst->raw());
  for (int64_t i = 0; i < dst->num_elements(); ++i) {
    int64_t offset = 0;
    bool fill = false;
    int64_t rest = i;
    for (int k = rank - 1; k >= 0; --k) {
      int64_t c = rest % out[k] - p.begin[k];
      rest /= out[k];
      if (c < 0 || c >= in[k]) {
        if (p.mode == PadMode::kConstant) {
          fill = true;
          break;
        }
        if (p.mode == PadMode::kReflect) c = c < 0 ? -c : 2 * (in[k] - 1) - c;
        else c = std::clamp<int64_t>(c, 0, in[k] - 1);
      }
      offset += c * strides[k];
    }
    std::memcpy(d + i * size, fill ? p.value.raw() : s + offset * size, size);
  }
}

}  // namespace qbench
