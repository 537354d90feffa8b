// The oneDNN kernel table: op type -> factory. Ops without a row run on the reference
// adapter; a kernel whose Prepare returns Unimplemented (a shape or attribute oneDNN
// cannot do) falls back to it too.
#pragma once

#include <memory>
#include <string_view>

#include "engine/runtime/kernel.h"

namespace qbench {

std::unique_ptr<Kernel> MakeOneDnnKernel(std::string_view op_type, DnnlContext* ctx);

// Factories, one per file in kernels/onednn/.
std::unique_ptr<Kernel> MakeOneDnnConv(DnnlContext* ctx);
std::unique_ptr<Kernel> MakeOneDnnGemm(DnnlContext* ctx);       // gemm.cc
std::unique_ptr<Kernel> MakeOneDnnMatMul(DnnlContext* ctx);     // matmul.cc
std::unique_ptr<Kernel> MakeOneDnnPool(DnnlContext* ctx);       // pool.cc
std::unique_ptr<Kernel> MakeOneDnnEltwise(DnnlContext* ctx);    // eltwise.cc
std::unique_ptr<Kernel> MakeOneDnnBinary(DnnlContext* ctx);     // binary.cc
std::unique_ptr<Kernel> MakeOneDnnSoftmax(DnnlContext* ctx);    // softmax.cc
std::unique_ptr<Kernel> MakeOneDnnConcat(DnnlContext* ctx);     // concat.cc
std::unique_ptr<Kernel> MakeOneDnnBatchNorm(DnnlContext* ctx);  // batch_norm.cc
std::unique_ptr<Kernel> MakeOneDnnTranspose(DnnlContext* ctx);  // transpose.cc
std::unique_ptr<Kernel> MakePlainCopy(DnnlContext* ctx);        // reshape.cc (view ops)
std::unique_ptr<Kernel> MakeInt8Conv(DnnlContext* ctx);         // int8_conv.cc
std::unique_ptr<Kernel> MakeInt8Gemm(DnnlContext* ctx);         // int8_gemm.cc
std::unique_ptr<Kernel> MakeQdqReorder(DnnlContext* ctx);       // qdq.cc
std::unique_ptr<Kernel> MakeDynamicQuantize(DnnlContext* ctx);  // dynamic_quantize.cc
std::unique_ptr<Kernel> MakeInt8MaxPool(DnnlContext* ctx);      // int8_maxpool.cc

}  // namespace qbench
