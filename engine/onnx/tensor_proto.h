// Conversion of ONNX TensorProto (initializers, Constant values, test vectors) to Tensors.
#pragma once

#include <string>

#include <onnx/onnx_pb.h>

#include "absl/status/statusor.h"
#include "engine/core/tensor.h"

namespace qbench {

// Reads raw_data (little-endian) or the typed repeated field. float16 and float64 are
// converted to float32 (the engine computes FP32; FP16 weights are exactly representable),
// int32/int8/uint8/bool/int64 keep their type. External data is rejected with a message.
absl::StatusOr<Tensor> TensorFromProto(const onnx::TensorProto& proto, const std::string& context);

// Parses a serialized TensorProto file (.pb), e.g. from the ONNX backend test data.
absl::StatusOr<Tensor> ReadTensorProtoFile(const std::string& path);

}  // namespace qbench
