#include "engine/kernels/onednn/registry.h"

#include "engine/runtime/plan.h"
#include "engine/runtime/ref_kernel.h"

namespace qbench {
namespace {

struct Row {
  std::string_view op_type;
  std::unique_ptr<Kernel> (*make)(DnnlContext*);
};

constexpr Row kRows[] = {
    {"Conv", MakeOneDnnConv},
    {"Gemm", MakeOneDnnGemm},
    {"MatMul", MakeOneDnnMatMul},
    {"MaxPool", MakeOneDnnPool},
    {"AveragePool", MakeOneDnnPool},
    {"GlobalAveragePool", MakeOneDnnPool},
    {"Relu", MakeOneDnnEltwise},
    {"LeakyRelu", MakeOneDnnEltwise},
    {"Clip", MakeOneDnnEltwise},
    {"Sigmoid", MakeOneDnnEltwise},
    {"Tanh", MakeOneDnnEltwise},
    {"HardSwish", MakeOneDnnEltwise},
    {"Add", MakeOneDnnBinary},
    {"Sub", MakeOneDnnBinary},
    {"Mul", MakeOneDnnBinary},
    {"Div", MakeOneDnnBinary},
    {"Softmax", MakeOneDnnSoftmax},
    {"Concat", MakeOneDnnConcat},
    {"BatchNormalization", MakeOneDnnBatchNorm},
    {"Transpose", MakeOneDnnTranspose},
    {"Reshape", MakePlainCopy},
    {"Flatten", MakePlainCopy},
    {"Squeeze", MakePlainCopy},
    {"Unsqueeze", MakePlainCopy},
    {"QuantizeLinear", MakeQdqReorder},
    {"DequantizeLinear", MakeQdqReorder},
    {"DynamicQuantizeLinear", MakeDynamicQuantize},
};

// Lowered integer nodes (Node::quant) whose kernel differs from the float one; integer
// movers (pools, concat, reshapes) use their float kernels, which keep the element type.
constexpr Row kInt8Rows[] = {
    {"Conv", MakeInt8Conv},
    {"Gemm", MakeInt8Gemm},
    {"MaxPool", MakeInt8MaxPool},
};

}  // namespace

std::unique_ptr<Kernel> MakeOneDnnKernel(std::string_view op_type, DnnlContext* ctx) {
  for (const Row& r : kRows)
    if (r.op_type == op_type) return r.make(ctx);
  return nullptr;
}

std::unique_ptr<Kernel> MakeKernel(const Node& node, Backend backend, DnnlContext* ctx) {
  if (backend == Backend::kOneDnn && node.quant)
    for (const Row& r : kInt8Rows)
      if (r.op_type == node.op_type) return r.make(ctx);
  if (backend == Backend::kOneDnn)
    if (auto k = MakeOneDnnKernel(node.op_type, ctx)) return k;
  return MakeReferenceKernel();
}

}  // namespace qbench
