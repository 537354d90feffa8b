// Test helpers: build a node, run its reference kernel, compare tensors.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/ops/op_def.h"

namespace qbench::testing {

inline Node MakeNode(const std::string& op_type, int num_inputs, Attributes attrs = {}) {
  Node n;
  n.name = op_type + "_test";
  n.op_type = op_type;
  for (int i = 0; i < num_inputs; ++i) n.inputs.push_back(i);
  n.outputs = {num_inputs};
  n.attrs = std::move(attrs);
  return n;
}

// Runs the op's reference kernel; omitted optional inputs are passed as empty Tensors
// (set the node's input id to -1 for them).
inline absl::StatusOr<std::vector<Tensor>> RunRef(const Node& node, const std::vector<Tensor>& in) {
  const OpDef* def = FindOp(node.op_type);
  if (def == nullptr) return absl::NotFoundError("no op " + node.op_type);
  std::vector<Tensor> out;
  absl::Status s = RunReference(*def, node, in, &out);
  if (!s.ok()) return s;
  return out;
}

inline void ExpectNear(const Tensor& got, const std::vector<float>& want, float tol = 1e-5f) {
  ASSERT_EQ(got.num_elements(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got.data<float>()[i], want[i], tol) << "at " << i;
}

}  // namespace qbench::testing
