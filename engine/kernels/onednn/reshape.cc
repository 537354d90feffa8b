// The view ops (Reshape, Flatten, Squeeze, Unsqueeze): the output holds the input's
// row-major bytes under a new shape (resolved by the shared parsers in ops/reshape.h).
// The input is asked for plain, so a blocked producer gets one reorder, and the bytes
// are copied into the output buffer; unlike the reference adapter this allocates nothing
// per run. Any element type.
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/kernels/onednn/registry.h"
#include "engine/kernels/onednn/util.h"
#include "engine/ops/op_util.h"
#include "engine/ops/reshape.h"

namespace qbench {
namespace {

class PlainCopy final : public Kernel {
 public:
  absl::Status Prepare(const Node& node, std::span<const RtMeta> in, std::vector<dnnl::memory::desc>* wanted,
                       std::vector<RtMeta>* out) override {
    QB_RETURN_IF_ERROR(RequireNoPostOps(node));
    const std::vector<TensorMeta> tm = ParserMetas(node, in);
    absl::StatusOr<Shape> shape;
    if (node.op_type == "Reshape") shape = ParseReshape(node, tm);
    else if (node.op_type == "Flatten") shape = ParseFlatten(node, tm);
    else if (node.op_type == "Squeeze") shape = ParseSqueeze(node, tm);
    else if (node.op_type == "Unsqueeze") shape = ParseUnsqueeze(node, tm);
    else return NodeUnimplemented(node, "not a view op");
    QB_RETURN_IF_ERROR(shape.status());
    (*wanted)[0] = PlainDesc(in[0].dtype, in[0].shape);
    const dnnl::memory::desc dst = PlainDesc(in[0].dtype, *shape);
    bytes_ = dst.get_size();
    if (bytes_ != (*wanted)[0].get_size()) return NodeError(node, "view changes the byte size");
    out->assign(1, RtMeta{in[0].dtype, *shape, dst, nullptr});
    return absl::OkStatus();
  }

  absl::Status Execute(std::span<const dnnl::memory> in, std::span<const dnnl::memory> out) override {
    void* dst = out[0].get_data_handle();
    const void* src = in[0].get_data_handle();
    if (dst != src && bytes_ > 0) std::memcpy(dst, src, bytes_);
    return absl::OkStatus();
  }

  std::string Implementation() const override { return "copy"; }

 private:
  size_t bytes_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> MakePlainCopy(DnnlContext* ctx) { return std::make_unique<PlainCopy>(); }

}  // namespace qbench
