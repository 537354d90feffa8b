// Add, Sub, Mul, Div (ONNX opsets 7-17): multidirectional (numpy) broadcasting of two
// inputs of one element type. Parsed once here so the reference kernel and the oneDNN
// backend agree on the broadcast output shape and the accepted types.
#pragma once

#include <span>

#include "absl/status/statusor.h"
#include "engine/kernels/reference/binary.h"
#include "engine/ops/op_def.h"

namespace qbench {

struct BinaryParams {
  const BinaryDef* def;  // the op's row: its float and integer functions
  DType dtype;           // of A, B and C (ONNX requires one type T for all three)
  Shape out;             // BroadcastShapes(A, B); dims may be kDynamicDim at import time
};

// A: in[0], B: in[1]. float32 is what optimized kernels take; the reference kernel also
// computes integer tensors (int64 shape subgraphs are constant-folded through it).
absl::StatusOr<BinaryParams> ParseBinary(const Node& node, std::span<const TensorMeta> in);

}  // namespace qbench
