// Sliding-window geometry shared by Conv and the pooling ops: ONNX auto_pad, explicit
// pads, strides, dilations and ceil_mode, resolved into begin/end pads and output sizes.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/graph/graph.h"

namespace qbench {

// The largest kernel size, stride, dilation and pad a window accepts (2^24), checked in
// 64 bits before any arithmetic: (k - 1) * d + 1 and in + pads then cannot overflow, and
// every output dim is >= 1 and at most in + 2^25. Real models stay far below it; a
// hostile one (pads=40000) gets past it only to be refused by the plan's memory budget.
inline constexpr int64_t kMaxWindowValue = int64_t{1} << 24;

struct Window {
  std::vector<int64_t> kernel;      // effective extent before dilation, per spatial dim
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pads_begin;
  std::vector<int64_t> pads_end;    // may be grown by ceil_mode so the last window fits
  std::vector<int64_t> out;         // output spatial sizes (kDynamicDim if the input is)
};

// Reads strides, dilations (if `has_dilations`), pads and auto_pad from the node and
// resolves them against the input spatial sizes `in`:
//   out = floor_or_ceil((in + pb + pe - ((k - 1) * d + 1)) / s) + 1
//   SAME_UPPER/SAME_LOWER: out = ceil(in / s), total pad = max(0, (out-1)*s + (k-1)*d + 1 - in),
//   with the odd pixel at the end (UPPER) or the beginning (LOWER).
// With ceil_mode, a last window that would start in the end padding is dropped (as ONNX
// Runtime and PyTorch do), and pads_end grows so oneDNN sees the same geometry.
absl::StatusOr<Window> ResolveWindow(const Node& node, const std::vector<int64_t>& in,
                                     const std::vector<int64_t>& kernel, bool has_dilations, bool ceil_mode);

}  // namespace qbench
