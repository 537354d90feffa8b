// Small helpers shared by the oneDNN kernels other than Conv: parser inputs from runtime
// metas, plain/strided descriptors, re-viewing a buffer under another descriptor, and
// prepacking constants (the executor never reorders constants; kernels do it once).
#pragma once

#include <span>
#include <string>
#include <vector>

#include <dnnl.hpp>

#include "absl/status/status.h"
#include "engine/ops/op_def.h"
#include "engine/runtime/kernel.h"

namespace qbench {

// The parsers' view of the kernel inputs (omitted optional inputs are not present).
std::vector<TensorMeta> ParserMetas(const Node& node, std::span<const RtMeta> in);

// True when any dim is 0: oneDNN primitives reject empty tensors, the reference copes.
bool HasZeroDim(const Shape& shape);

// Row-major strides for dims.
dnnl::memory::dims DenseStrides(const dnnl::memory::dims& dims);

// `md` with another element type and the same layout (blocked or plain): quantize and
// dequantize steps, and residuals read as s8 into a u8 dst, keep their producer's layout.
dnnl::memory::desc WithDataType(const dnnl::memory::desc& md, DType t);

// A plain f32 descriptor for dims (row-major).
dnnl::memory::desc PlainF32(const dnnl::memory::dims& dims);

// A memory with a fixed descriptor (a reshaped or strided view of plain bytes) that is
// re-pointed at another memory's buffer on every run: no allocation per Execute.
class MemoryView {
 public:
  MemoryView() = default;
  MemoryView(const dnnl::memory::desc& md, const dnnl::engine& engine) : mem_(md, engine, DNNL_MEMORY_NONE) {}
  const dnnl::memory& Of(const dnnl::memory& m) {
    mem_.set_data_handle(m.get_data_handle());
    return mem_;
  }
  explicit operator bool() const { return static_cast<bool>(mem_); }

 private:
  dnnl::memory mem_;
};

// Copies `src` (described by src_md, usually plain or strided) into a new memory of
// dst_md, reordering once; for constant weights and operands.
dnnl::memory Prepack(DnnlContext* ctx, const dnnl::memory::desc& src_md, const void* src,
                     const dnnl::memory::desc& dst_md);

// Unimplemented when the node carries fused post-ops (only Conv/Gemm/MatMul take them).
absl::Status RequireNoPostOps(const Node& node);

// Turns a dnnl::error raised while creating a primitive into Unimplemented for `what`.
absl::Status NoPrimitive(const Node& node, const std::string& what, const dnnl::error& e);

// Unimplemented when a implementation string names one of oneDNN's reference kernels
// ("ref:any", "ref_int8:any", ...), which are orders of magnitude slower than the JIT ones.
absl::Status RejectRefImpl(const Node& node, const dnnl::primitive_desc_base& pd);

}  // namespace qbench
