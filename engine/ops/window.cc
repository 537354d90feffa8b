#include "engine/ops/window.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/ops/op_util.h"

namespace qbench {

absl::StatusOr<Window> ResolveWindow(const Node& node, const std::vector<int64_t>& in,
                                     const std::vector<int64_t>& kernel, bool has_dilations, bool ceil_mode) {
  const size_t n = in.size();
  Window w;
  w.kernel = kernel;
  if (kernel.size() != n)
    return NodeError(node, absl::StrCat("kernel has ", kernel.size(), " spatial dims, input has ", n));
  QB_ASSIGN_OR_RETURN(w.strides, node.attrs.GetInts("strides", std::vector<int64_t>(n, 1)));
  w.dilations = std::vector<int64_t>(n, 1);
  if (has_dilations) {
    QB_ASSIGN_OR_RETURN(w.dilations, node.attrs.GetInts("dilations", w.dilations));
  }
  QB_ASSIGN_OR_RETURN(std::vector<int64_t> pads, node.attrs.GetInts("pads", std::vector<int64_t>(2 * n, 0)));
  QB_ASSIGN_OR_RETURN(std::string auto_pad, node.attrs.GetString("auto_pad", "NOTSET"));
  if (w.strides.size() != n) return NodeError(node, absl::StrCat("attribute \"strides\" needs ", n, " values"));
  if (w.dilations.size() != n) return NodeError(node, absl::StrCat("attribute \"dilations\" needs ", n, " values"));
  if (pads.size() != 2 * n) return NodeError(node, absl::StrCat("attribute \"pads\" needs ", 2 * n, " values"));
  auto in_range = [&](const char* what, int64_t v, int64_t lo) -> absl::Status {
    if (v >= lo && v <= kMaxWindowValue) return absl::OkStatus();
    return NodeError(node, absl::StrCat(what, " must be in [", lo, ", ", kMaxWindowValue, "], got ", v));
  };
  for (size_t i = 0; i < n; ++i) {
    QB_RETURN_IF_ERROR(in_range("attribute \"strides\"", w.strides[i], 1));
    QB_RETURN_IF_ERROR(in_range("attribute \"dilations\"", w.dilations[i], 1));
    QB_RETURN_IF_ERROR(in_range("kernel size (attribute \"kernel_shape\" or the weights' dims)", kernel[i], 1));
    QB_RETURN_IF_ERROR(in_range("attribute \"pads\"", pads[i], 0));
    QB_RETURN_IF_ERROR(in_range("attribute \"pads\"", pads[i + n], 0));
    if (in[i] != kDynamicDim && (in[i] < 0 || in[i] > (int64_t{1} << 40)))
      return NodeError(node, absl::StrCat("spatial dim ", i, " of the input is ", in[i], "; at most 2^40"));
  }
  w.pads_begin.assign(pads.begin(), pads.begin() + n);
  w.pads_end.assign(pads.begin() + n, pads.end());
  w.out.resize(n);

  const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
  if (!same && auto_pad != "NOTSET" && auto_pad != "VALID")
    return NodeError(node, absl::StrCat("attribute \"auto_pad\" has unknown value \"", auto_pad, "\""));
  for (size_t i = 0; i < n; ++i) {
    const int64_t extent = (kernel[i] - 1) * w.dilations[i] + 1;
    if (in[i] == kDynamicDim) {
      w.out[i] = kDynamicDim;
      continue;
    }
    if (auto_pad == "VALID") {
      w.pads_begin[i] = w.pads_end[i] = 0;
    } else if (same) {
      const int64_t out = (in[i] + w.strides[i] - 1) / w.strides[i];
      const int64_t total = std::max<int64_t>(0, (out - 1) * w.strides[i] + extent - in[i]);
      const int64_t small = total / 2, big = total - small;
      w.pads_begin[i] = auto_pad == "SAME_UPPER" ? small : big;
      w.pads_end[i] = auto_pad == "SAME_UPPER" ? big : small;
    }
    const int64_t span = in[i] + w.pads_begin[i] + w.pads_end[i] - extent;
    if (span < 0)
      return NodeError(node, absl::StrCat("window of extent ", extent, " does not fit spatial size ", in[i],
                                          " with pads"));
    int64_t out = span / w.strides[i] + 1;
    if (ceil_mode && span % w.strides[i] != 0) {
      out = (span + w.strides[i] - 1) / w.strides[i] + 1;
      // Drop a last window that would start inside the end padding.
      if ((out - 1) * w.strides[i] >= in[i] + w.pads_begin[i]) --out;
      const int64_t need_end = (out - 1) * w.strides[i] + extent - in[i] - w.pads_begin[i];
      w.pads_end[i] = std::max(w.pads_end[i], need_end);
    }
    w.out[i] = out;
  }
  return w;
}

}  // namespace qbench
