// Gemm (ONNX opsets 1-17) and MatMul (opsets 1-17): parameters shared by inference, the
// reference kernels and the oneDNN backend (matmul primitive), so every backend resolves
// transposes, bias broadcasting and batch broadcasting the same way.
#pragma once

#include <span>

#include "absl/status/statusor.h"
#include "engine/ops/op_def.h"

namespace qbench {

// Y[M, N] = alpha * A'[M, K] x B'[K, N] + beta * C, where A' = transA ? A^T : A and
// B' = transB ? B^T : B, and C (optional) is unidirectionally broadcast to [M, N].
struct GemmParams {
  int64_t m, n, k;    // M may be kDynamicDim at import time (a dynamic batch)
  bool trans_a;       // A is stored [K, M]
  bool trans_b;       // B is stored [N, K]
  float alpha, beta;
  bool has_c;
  Shape c_shape;      // C as given (rank 0, 1 or 2); empty when !has_c
  // C viewed as a 2D [c_rows, c_cols] tensor (left-padded with 1s): c_rows is 1 or M,
  // c_cols is 1 or N; a 1 broadcasts along that axis. Both 0 when !has_c.
  int64_t c_rows, c_cols;
};

// A: [M, K] (or [K, M] with transA), B: [K, N] (or [N, K] with transB), C optional
// (required by the spec before opset 11; we accept it omitted at every opset). Before
// opset 7 (node attribute "__opset"), C must be exactly [M, N] unless "broadcast" = 1.
absl::StatusOr<GemmParams> ParseGemm(const Node& node, std::span<const TensorMeta> in);

// numpy.matmul: Y[..., M, N] = A[..., M, K] x B[..., K, N] with the batch dims "..."
// broadcast numpy-style. A 1-D A ([K]) is treated as [1, K] and a 1-D B ([K]) as [K, 1];
// the promoted dim is dropped from the output.
struct MatMulParams {
  int64_t m, n, k;
  bool a_vector;   // A was 1-D (M = 1, no M dim in the output)
  bool b_vector;   // B was 1-D (N = 1, no N dim in the output)
  Shape batch;     // broadcast batch dims of the output (may be empty)
  Shape a_batch;   // A's batch dims left-padded with 1s to batch.size(); 1 = broadcast
  Shape b_batch;   // same for B
  Shape out_shape; // batch + [M unless a_vector] + [N unless b_vector]
};

absl::StatusOr<MatMulParams> ParseMatMul(const Node& node, std::span<const TensorMeta> in);

}  // namespace qbench
