#include "engine/core/quant_params.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace qbench {

bool QuantParams::narrow() const {
  const int32_t lo = dtype == DType::kS8 ? -128 : 0;
  return qmin != lo || qmax != lo + 255;
}

std::string QuantParams::DebugString() const {
  std::string s = absl::StrCat(std::string(Name(dtype)), " ", bits, "-bit [", qmin, ",", qmax, "]");
  if (axis >= 0) absl::StrAppend(&s, " axis ", axis, " (", scale.size(), " channels)");
  if (!scale.empty()) absl::StrAppend(&s, " scale ", scale[0], " zp ", zero_point[0]);
  return s;
}

}  // namespace qbench
