// Test helpers of the tensor family: tensors of any element type in and out.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/ops/op_test_util.h"

namespace qbench::testing {

// A tensor of `T` (int8_t, uint8_t, int32_t, int64_t, float, bool as uint8_t) with `dtype`.
template <class T>
Tensor MakeTensor(DType dtype, const Shape& shape, const std::vector<T>& values) {
  Tensor t(dtype, shape);
  EXPECT_EQ(sizeof(T), SizeOf(dtype));
  EXPECT_EQ(static_cast<int64_t>(values.size()), t.num_elements());
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(T));
  return t;
}

template <class T>
std::vector<T> Values(const Tensor& t) {
  EXPECT_EQ(sizeof(T), SizeOf(t.dtype()));
  std::vector<T> v(t.num_elements());
  if (!v.empty()) std::memcpy(v.data(), t.raw(), v.size() * sizeof(T));
  return v;
}

inline std::vector<float> Floats(const Tensor& t) {
  EXPECT_EQ(t.dtype(), DType::kF32);
  return Values<float>(t);
}
inline std::vector<int64_t> Int64s(const Tensor& t) {
  EXPECT_EQ(t.dtype(), DType::kS64);
  return Values<int64_t>(t);
}

// Expects a failed status whose message contains every fragment (the node name first).
inline void ExpectError(const absl::Status& s, absl::StatusCode code, const std::vector<std::string>& fragments) {
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), code) << s;
  for (const std::string& f : fragments)
    EXPECT_NE(std::string(s.message()).find(f), std::string::npos) << "\"" << f << "\" not in: " << s;
}

// Runs only the op's inference on metas (dims may be kDynamicDim) and returns output 0.
inline absl::StatusOr<TensorMeta> InferOnly(const Node& node, const std::vector<TensorMeta>& in) {
  const OpDef* def = FindOp(node.op_type);
  if (def == nullptr) return absl::NotFoundError("no op " + node.op_type);
  std::vector<TensorMeta> out(node.outputs.size());
  absl::Status s = def->infer(node, in, out);
  if (!s.ok()) return s;
  return out[0];
}

}  // namespace qbench::testing
