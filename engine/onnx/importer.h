// ONNX import: a ModelProto (IR 3+, ai.onnx opsets 7-17) becomes a Graph.
//
// Everything that can be checked without running is checked here, and every problem is
// reported at once (all unsupported ops, attributes and opsets, naming node, op,
// attribute and opset), so a user learns before anything runs whether the model fits.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "engine/graph/graph.h"

namespace onnx {
class ModelProto;
}

namespace qbench {

// Models may declare any opset in this range; each op then checks its own range (most ops
// we support keep their semantics back to opset 1 or 6).
inline constexpr int kMinOpset = 1;
inline constexpr int kMaxOpset = 17;

absl::StatusOr<Graph> ImportOnnxFile(const std::string& path);
absl::StatusOr<Graph> ImportOnnxBytes(const std::string& bytes, const std::string& context);
absl::StatusOr<Graph> ImportOnnxModel(const onnx::ModelProto& model, const std::string& context);

}  // namespace qbench
