// Gemm and MatMul op definitions: attribute/shape parsing, inference and the reference
// kernel wrappers.
#include "engine/ops/gemm.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/reference/gemm.h"
#include "engine/ops/nn_util.h"
#include "engine/ops/op_util.h"

namespace qbench {
namespace {

// Two dims agree, or at least one is unknown until run time (checked again at plan time).
bool DimsAgree(int64_t a, int64_t b) { return a == b || a == kDynamicDim || b == kDynamicDim; }

// A broadcast operand dim: 1, equal to the target, or unknown.
bool Broadcastable(int64_t d, int64_t target) { return d == 1 || DimsAgree(d, target); }

}  // namespace

absl::StatusOr<GemmParams> ParseGemm(const Node& node, std::span<const TensorMeta> in) {
  QB_RETURN_IF_ERROR(RequireFloat(node, in, 0));
  QB_RETURN_IF_ERROR(RequireFloat(node, in, 1));
  const Shape& a = in[0].shape;
  const Shape& b = in[1].shape;
  if (a.size() != 2) return NodeError(node, absl::StrCat("input A must be 2-D, got ", ShapeToString(a)));
  if (b.size() != 2) return NodeError(node, absl::StrCat("input B must be 2-D, got ", ShapeToString(b)));
  GemmParams p;
  QB_ASSIGN_OR_RETURN(int64_t trans_a, WithNode(node, node.attrs.GetInt("transA", 0)));
  QB_ASSIGN_OR_RETURN(int64_t trans_b, WithNode(node, node.attrs.GetInt("transB", 0)));
  if (trans_a != 0 && trans_a != 1)
    return NodeError(node, absl::StrCat("attribute \"transA\" must be 0 or 1, got ", trans_a));
  if (trans_b != 0 && trans_b != 1)
    return NodeError(node, absl::StrCat("attribute \"transB\" must be 0 or 1, got ", trans_b));
  p.trans_a = trans_a == 1;
  p.trans_b = trans_b == 1;
  QB_ASSIGN_OR_RETURN(p.alpha, WithNode(node, node.attrs.GetFloat("alpha", 1.f)));
  QB_ASSIGN_OR_RETURN(p.beta, WithNode(node, node.attrs.GetFloat("beta", 1.f)));
  p.m = p.trans_a ? a[1] : a[0];
  p.k = p.trans_a ? a[0] : a[1];
  const int64_t kb = p.trans_b ? b[1] : b[0];
  p.n = p.trans_b ? b[0] : b[1];
  if (!DimsAgree(p.k, kb))
    return NodeError(node, absl::StrCat("inner dimensions differ: A ", ShapeToString(a), " (transA=", trans_a,
                                        ") has K=", p.k, ", B ", ShapeToString(b), " (transB=", trans_b,
                                        ") has K=", kb));
  if (p.k == kDynamicDim) p.k = kb;
  p.has_c = HasInput(in, 2);
  p.c_rows = p.c_cols = 0;
  if (p.has_c) {
    QB_RETURN_IF_ERROR(RequireFloat(node, in, 2));
    p.c_shape = in[2].shape;
    if (p.c_shape.size() > 2)
      return NodeError(node, absl::StrCat("input C must have rank <= 2, got ", ShapeToString(p.c_shape)));
    p.c_rows = p.c_shape.size() == 2 ? p.c_shape[0] : 1;
    p.c_cols = p.c_shape.empty() ? 1 : p.c_shape.back();
    if (!Broadcastable(p.c_rows, p.m) || !Broadcastable(p.c_cols, p.n))
      return NodeError(node, absl::StrCat("input C ", ShapeToString(p.c_shape),
                                          " is not unidirectionally broadcastable to ", ShapeToString({p.m, p.n})));
  }
  // Opsets 1-6: C broadcasts only with broadcast = 1 (default 0); otherwise it must be
  // exactly [M, N]. From 7 on the attribute is gone and C always broadcasts.
  QB_ASSIGN_OR_RETURN(int64_t opset, WithNode(node, node.attrs.GetInt("__opset", 17)));
  QB_ASSIGN_OR_RETURN(int64_t broadcast, WithNode(node, node.attrs.GetInt("broadcast", opset < 7 ? 0 : 1)));
  if (broadcast != 0 && broadcast != 1)
    return NodeError(node, absl::StrCat("attribute \"broadcast\" must be 0 or 1, got ", broadcast));
  if (p.has_c && broadcast == 0 && !(p.c_shape.size() == 2 && DimsAgree(p.c_rows, p.m) && DimsAgree(p.c_cols, p.n)))
    return NodeError(node, absl::StrCat("input C ", ShapeToString(p.c_shape), " must be ", ShapeToString({p.m, p.n}),
                                        " when attribute \"broadcast\" is 0"));
  return p;
}

absl::StatusOr<MatMulParams> ParseMatMul(const Node& node, std::span<const TensorMeta> in) {
  QB_RETURN_IF_ERROR(RequireFloat(node, in, 0));
  QB_RETURN_IF_ERROR(RequireFloat(node, in, 1));
  Shape a = in[0].shape;
  Shape b = in[1].shape;
  if (a.empty() || b.empty())
    return NodeError(node, absl::StrCat("inputs must have rank >= 1, got ", ShapeToString(a), " and ",
                                        ShapeToString(b)));
  MatMulParams p;
  p.a_vector = a.size() == 1;
  p.b_vector = b.size() == 1;
  if (p.a_vector) a.insert(a.begin(), 1);  // [K] -> [1, K]
  if (p.b_vector) b.push_back(1);          // [K] -> [K, 1]
  p.m = a[a.size() - 2];
  p.k = a.back();
  p.n = b.back();
  const int64_t kb = b[b.size() - 2];
  if (!DimsAgree(p.k, kb))
    return NodeError(node, absl::StrCat("inner dimensions differ: A ", ShapeToString(in[0].shape), " has K=", p.k,
                                        ", B ", ShapeToString(in[1].shape), " has K=", kb));
  if (p.k == kDynamicDim) p.k = kb;
  const Shape a_batch(a.begin(), a.end() - 2), b_batch(b.begin(), b.end() - 2);
  QB_ASSIGN_OR_RETURN(p.batch, BroadcastShapes(node, a_batch, b_batch));
  p.a_batch = Shape(p.batch.size() - a_batch.size(), 1);
  p.a_batch.insert(p.a_batch.end(), a_batch.begin(), a_batch.end());
  p.b_batch = Shape(p.batch.size() - b_batch.size(), 1);
  p.b_batch.insert(p.b_batch.end(), b_batch.begin(), b_batch.end());
  p.out_shape = p.batch;
  if (!p.a_vector) p.out_shape.push_back(p.m);
  if (!p.b_vector) p.out_shape.push_back(p.n);
  return p;
}

namespace {

absl::Status InferGemm(const Node& node, std::span<const TensorMeta> in, std::span<TensorMeta> out) {
  QB_ASSIGN_OR_RETURN(GemmParams p, ParseGemm(node, in));
  out[0].dtype = DType::kF32;
  out[0].shape = {p.m, p.n};
  return absl::OkStatus();
}

absl::Status ReferenceGemmOp(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  QB_ASSIGN_OR_RETURN(GemmParams p, ParseGemm(node, MetaOf(in)));
  ReferenceGemm(p, in[0].data<float>(), in[1].data<float>(), p.has_c ? in[2].data<float>() : nullptr,
                out[0].data<float>());
  return absl::OkStatus();
}

absl::Status InferMatMul(const Node& node, std::span<const TensorMeta> in, std::span<TensorMeta> out) {
  QB_ASSIGN_OR_RETURN(MatMulParams p, ParseMatMul(node, in));
  out[0].dtype = DType::kF32;
  out[0].shape = p.out_shape;
  return absl::OkStatus();
}

absl::Status ReferenceMatMulOp(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  QB_ASSIGN_OR_RETURN(MatMulParams p, ParseMatMul(node, MetaOf(in)));
  ReferenceMatMul(p, in[0].data<float>(), in[1].data<float>(), out[0].data<float>());
  return absl::OkStatus();
}

constexpr AttrSpec kGemmAttrs[] = {{"alpha"}, {"beta"}, {"broadcast"}, {"transA"}, {"transB"}};
constexpr AttrSpec kNoAttrs[] = {{"__none__"}};

}  // namespace

// Gemm: opsets 1-6 broadcast C only with "broadcast" = 1; 7 dropped the attribute (C
// broadcasts unidirectionally from then on); 11 made C optional; 13 only added types.
// MatMul's float semantics never changed.
extern const OpDef kGemmDef = {"Gemm", 1, 17, kGemmAttrs, 2, 3, InferGemm, ReferenceGemmOp};
extern const OpDef kMatMulDef = {"MatMul", 1, 17, std::span(kNoAttrs, 0), 2, 2, InferMatMul, ReferenceMatMulOp};

}  // namespace qbench
