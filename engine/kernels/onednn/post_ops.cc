#include "engine/kernels/onednn/post_ops.h"

#include <string_view>

#include "absl/strings/str_cat.h"
#include "engine/ops/op_util.h"

namespace qbench {
namespace {

using alg = dnnl::algorithm;

// One oneDNN eltwise step y = f(x; a, b); `a_from_alpha` picks the ONNX attribute source.
struct EltwiseStep {
  alg algorithm;
  enum Param { kZero, kAlpha, kBeta, kOne } a, b;
};

struct EltwiseRow {
  std::string_view op_type;
  EltwiseStep steps[2];
  int num_steps;
};

// HardSigmoid has no oneDNN 2.6 algorithm: linear (alpha * x + beta) then clip to [0, 1].
constexpr EltwiseRow kRows[] = {
    {"Relu", {{alg::eltwise_relu, EltwiseStep::kZero, EltwiseStep::kZero}}, 1},
    {"LeakyRelu", {{alg::eltwise_relu, EltwiseStep::kAlpha, EltwiseStep::kZero}}, 1},
    {"Clip", {{alg::eltwise_clip, EltwiseStep::kAlpha, EltwiseStep::kBeta}}, 1},
    {"Sigmoid", {{alg::eltwise_logistic, EltwiseStep::kZero, EltwiseStep::kZero}}, 1},
    {"Tanh", {{alg::eltwise_tanh, EltwiseStep::kZero, EltwiseStep::kZero}}, 1},
    {"HardSwish", {{alg::eltwise_hardswish, EltwiseStep::kZero, EltwiseStep::kZero}}, 1},
    {"HardSigmoid",
     {{alg::eltwise_linear, EltwiseStep::kAlpha, EltwiseStep::kBeta},
      {alg::eltwise_clip, EltwiseStep::kZero, EltwiseStep::kOne}},
     2},
};

const EltwiseRow* FindRow(const std::string& kind) {
  for (const EltwiseRow& r : kRows)
    if (r.op_type == kind) return &r;
  return nullptr;
}

float Pick(EltwiseStep::Param p, float alpha, float beta) {
  switch (p) {
    case EltwiseStep::kAlpha: return alpha;
    case EltwiseStep::kBeta: return beta;
    case EltwiseStep::kOne: return 1.f;
    default: return 0.f;
  }
}

}  // namespace

absl::Status AppendEltwise(dnnl::post_ops& po, const std::string& kind, float alpha, float beta) {
  const EltwiseRow* row = FindRow(kind);
  if (row == nullptr) return absl::UnimplementedError(absl::StrCat("no oneDNN post-op for ", kind));
  for (int i = 0; i < row->num_steps; ++i) {
    const EltwiseStep& s = row->steps[i];
    po.append_eltwise(1.f, s.algorithm, Pick(s.a, alpha, beta), Pick(s.b, alpha, beta));
  }
  return absl::OkStatus();
}

absl::StatusOr<dnnl::post_ops> BuildPostOps(const Node& node) {
  dnnl::post_ops po;
  for (const PostOp& p : node.post_ops) {
    if (p.kind == "Sum") {
      po.append_sum(1.f);
      continue;
    }
    absl::Status s = AppendEltwise(po, p.kind, p.alpha, p.beta);
    if (!s.ok()) return NodeUnimplemented(node, std::string(s.message()));
  }
  return po;
}

bool EltwiseAlgorithm(const std::string& kind, float alpha, float beta, dnnl::algorithm* a_out, float* a, float* b) {
  const EltwiseRow* row = FindRow(kind);
  if (row == nullptr || row->num_steps != 1) return false;
  *a_out = row->steps[0].algorithm;
  *a = Pick(row->steps[0].a, alpha, beta);
  *b = Pick(row->steps[0].b, alpha, beta);
  return true;
}

}  // namespace qbench
