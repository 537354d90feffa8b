// Elementwise binary arithmetic (Add, Sub, Mul, Div): one table row per ONNX op, with a
// float32 form (the oracle for oneDNN's binary primitive) and an integer form (for the
// int64 shape arithmetic that constant folding runs: Shape -> Gather -> Mul -> Concat).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "engine/core/tensor.h"
#include "engine/graph/graph.h"

namespace qbench {

struct BinaryParams;

struct BinaryDef {
  std::string_view op_type;
  float (*f32)(float a, float b);  // IEEE float semantics (x / 0 = +-inf or NaN)
  // Integer form on int64; narrower integer types are widened, computed and wrapped back
  // to their width (two's complement / modulo 2^bits, as numpy and ONNX Runtime do).
  // nullopt where the result is undefined: integer division by zero.
  std::optional<int64_t> (*s64)(int64_t a, int64_t b);
};

// nullptr if op_type is not a binary arithmetic op.
const BinaryDef* FindBinary(std::string_view op_type);

// Element types the reference kernel computes: f32 and the integer types s8, u8, s32, s64.
bool BinarySupportsDType(DType dtype);

// dst[i] = op(a[broadcast(i)], b[broadcast(i)]) over dst's shape (numpy multidirectional
// broadcasting; see BroadcastStrides). a, b and dst share p.dtype. Fails naming the node
// on integer division by zero.
absl::Status ReferenceBinary(const Node& node, const BinaryParams& p, const Tensor& a, const Tensor& b,
                             Tensor* dst);

}  // namespace qbench
