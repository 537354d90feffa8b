// Pad (ONNX opsets 2-17): constant, reflect or edge padding, with negative pads cropping.
// Any element type (the backend tests pad int32 tensors).
#pragma once

#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/ops/op_def.h"

namespace qbench {

enum class PadMode { kConstant, kReflect, kEdge };

struct PadParams {
  PadMode mode;                // attribute "mode", default "constant"
  std::vector<int64_t> begin;  // per axis, elements added before (negative: removed)
  std::vector<int64_t> end;    // per axis, elements added after (negative: removed)
  Shape out;                   // in[k] + begin[k] + end[k]
  // kConstant: one element of the data's type holding the fill value (default 0): the
  // constant_value input (opset 11+) or the float attribute "value" (before 11) converted.
  Tensor value;
};

// pads: attribute (opsets 2-10) or constant int64 input in[1] (11+), laid out as
// [x1_begin, x2_begin, ..., x1_end, x2_end, ...] with 2 * rank entries. The opset 18
// "axes" input is not supported.
// reflect needs pads <= dim - 1 on every padded axis (mirror without repeating the edge:
// [1,2,3] padded by 2 before -> [3,2,1,2,3]); edge needs a non-empty axis. Both read
// coordinates relative to the whole input even when the other side is cropped.
absl::StatusOr<PadParams> ParsePad(const Node& node, std::span<const TensorMeta> in);

}  // namespace qbench
