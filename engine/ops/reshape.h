// The view ops: Reshape, Flatten, Squeeze, Unsqueeze (and Identity, Dropout in
// identity.cc). Their output holds the input's bytes unchanged, so each op is fully
// described by its output shape; the parsers below compute it (for inference, the
// reference kernel, graph passes and the oneDNN backend alike). Any element type.
#pragma once

#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/ops/op_def.h"

namespace qbench {

// Reshape's target resolution (ONNX Reshape-14):
//  - target[i] == 0 copies in[i] (error if i >= rank of in), unless allowzero, where 0 is
//    a literal zero-sized dim (and then -1 may not appear with it);
//  - one target[i] == -1 is inferred so the element count is unchanged;
//  - other negatives are errors; with static shapes the element counts must match.
// `in` may hold kDynamicDim: a copied dynamic dim stays dynamic, and -1 becomes dynamic
// when any input dim that is not copied to the same position is dynamic.
absl::StatusOr<Shape> ResolveReshape(const Node& node, const Shape& in, const std::vector<int64_t>& target,
                                     bool allowzero);

// Reshape (5-17): data in[0], constant int64 shape in[1] (FailedPrecondition until it is
// constant); attribute allowzero (14+, default 0).
absl::StatusOr<Shape> ParseReshape(const Node& node, std::span<const TensorMeta> in);

// Flatten (1-17): [prod(in[:axis]), prod(in[axis:])]; attribute axis in [-r, r], default 1
// (negative from opset 11).
absl::StatusOr<Shape> ParseFlatten(const Node& node, std::span<const TensorMeta> in);

// Squeeze (1-17): removes the listed dims, which must be 1; axes from the attribute
// (opsets 1-12) or the constant input in[1] (13+), in [-r, r-1], no repeats. Without
// axes (or with an empty list, as ONNX Runtime reads it) removes every dim equal to 1
// (FailedPrecondition while a dim is dynamic: which dims are 1 is not known yet).
absl::StatusOr<Shape> ParseSqueeze(const Node& node, std::span<const TensorMeta> in);

// Unsqueeze (1-17): inserts 1-dims so that out[axes[j]] == 1; axes (required, attribute up
// to 12, constant input from 13) index the output, in [-(r+n), r+n-1], no repeats, any order.
absl::StatusOr<Shape> ParseUnsqueeze(const Node& node, std::span<const TensorMeta> in);

}  // namespace qbench
