#include "worker/engine/kernels/onednn/registry.h"

#include "worker/engine/runtime/plan.h"
#include "worker/engine/runtime/ref_kernel.h"

namespace qbench {
namespace {

struct Row {
  std::string_view op_type;
  std::unique_ptr<Kernel> (*make)(DnnlContext*);
};

constexpr Row kRows[] = {
    {"Conv", MakeOneDnnConv},
};

}  // namespace

std::unique_ptr<Kernel> MakeOneDnnKernel(std::string_view op_type, DnnlContext* ctx) {
  for (const Row& r : kRows)
    if (r.op_type == op_type) return r.make(ctx);
  return nullptr;
}

std::unique_ptr<Kernel> MakeKernel(const Node& node, Backend backend, DnnlContext* ctx) {
  if (backend == Backend::kOneDnn)
    if (auto k = MakeOneDnnKernel(node.op_type, ctx)) return k;
  return MakeReferenceKernel();
}

}  // namespace qbench
