// The kernel interface the executor plans and runs. Both backends implement it: the
// oneDNN kernels (kernels/onednn/) and the reference adapter (any op, plain layouts).
//
// Tensors between steps are dnnl::memory objects whose descriptor carries the layout
// (plain row-major, or a blocked layout a oneDNN primitive chose with format_tag::any).
// A kernel says which layout it wants for each input; the executor inserts a reorder
// only where the producer's layout differs.
#pragma once

#include <span>
#include <string>
#include <vector>

#include <dnnl.hpp>

#include "absl/status/status.h"
#include "engine/core/tensor.h"
#include "engine/graph/graph.h"

namespace qbench {

struct RtMeta {
  DType dtype = DType::kF32;
  Shape shape;
  dnnl::memory::desc md;             // layout of the runtime buffer
  const Tensor* constant = nullptr;  // set for constants (weights, folded values)
};

// The engine and stream every memory and primitive of a session uses (oneDNN requires
// one engine for all of them).
struct DnnlContext {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};

class Kernel {
 public:
  virtual ~Kernel() = default;

  // Called once per plan. `in` holds node.inputs followed by the Sum post-op inputs, in
  // their producers' layouts. Fills wanted[i] (the desc input i must arrive in; leave
  // in[i].md to accept it as is) and out (dtype, shape and layout of each output).
  // Weights arrive as constants and are prepacked here, once.
  virtual absl::Status Prepare(const Node& node, std::span<const RtMeta> in, std::vector<dnnl::memory::desc>* wanted,
                               std::vector<RtMeta>* out) = 0;

  // Input index whose content must already be in out[0] when Execute starts (the
  // residual of a Sum post-op), or -1.
  virtual int InPlaceInput() const { return -1; }

  virtual absl::Status Execute(std::span<const dnnl::memory> in, std::span<const dnnl::memory> out) = 0;

  // The implementation oneDNN picked ("brgconv:avx512_core"), or "reference".
  virtual std::string Implementation() const = 0;
};

// Plain (row-major) descriptor for a dtype and shape; rank-0 shapes become {1}.
dnnl::memory::desc PlainDesc(DType dtype, const Shape& shape);
dnnl::memory::data_type ToDnnl(DType dtype);

// A non-owning Tensor view of a plain memory (reference kernels read and write it).
Tensor ViewOf(const dnnl::memory& m, DType dtype, const Shape& shape);

}  // namespace qbench
