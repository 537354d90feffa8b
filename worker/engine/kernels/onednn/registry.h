// The oneDNN kernel table: op type -> factory. Ops without a row run on the reference
// adapter; a kernel whose Prepare returns Unimplemented (a shape or attribute oneDNN
// cannot do) falls back to it too.
#pragma once

#include <memory>
#include <string_view>

#include "worker/engine/runtime/kernel.h"

namespace qbench {

std::unique_ptr<Kernel> MakeOneDnnKernel(std::string_view op_type, DnnlContext* ctx);

// Factories, one per file in kernels/onednn/.
std::unique_ptr<Kernel> MakeOneDnnConv(DnnlContext* ctx);

}  // namespace qbench
