// Lowers a QDQ graph for the oneDNN backend: each DequantizeLinear -> op -> QuantizeLinear
// chain becomes one node that reads and writes integers (Node::quant), so it runs on an
// int8 primitive instead of float math on dequantized values.
//
//   Conv/Gemm:  DQ(x_q) and DQ(w_q const) feed the layer; the layer then reads x_q and
//               w_q directly. When every reader of its output is a QuantizeLinear with
//               one set of parameters, the layer writes y_q itself and those Q nodes go;
//               otherwise it writes float32. A Sum post-op whose residual is DQ(r_q)
//               reads r_q when the output is quantized.
//   Movers:     MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape, Squeeze,
//               Unsqueeze, Transpose and Concat between DQ and Q with the *same*
//               parameters run on the integers (max, averages rounded half to even, and
//               data movement commute with the affine map).
// DQ/Q nodes left without readers are dropped; the rest run as quantize/dequantize
// reorders. The math is unchanged: a lowered graph computes what the QDQ graph defines,
// up to the rounding of the integer kernels (tests bound it to one quantization step).
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/ops/quantize_linear.h"
#include "engine/passes/passes.h"
#include "engine/passes/rewrite_util.h"

namespace qbench {
namespace {

std::vector<TensorMeta> MetasOfNode(const Graph& g, const Node& n) {
  std::vector<TensorMeta> m(n.inputs.size());
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (n.inputs[i] < 0) {
      m[i].present = false;
      continue;
    }
    const Value& v = g.values[n.inputs[i]];
    m[i] = {v.dtype, v.shape, v.constant ? &*v.constant : nullptr, true};
  }
  return m;
}

// The DequantizeLinear producing value v with constant parameters, or null.
const Node* DqOf(const Graph& g, int v, QuantParams* params) {
  if (v < 0 || g.values[v].producer < 0) return nullptr;
  const Node& dq = g.nodes[g.values[v].producer];
  if (dq.removed || dq.op_type != "DequantizeLinear") return nullptr;
  const Value& x = g.values[dq.inputs[0]];
  auto p = QdqParams(dq, MetasOfNode(g, dq), static_cast<int>(x.shape.size()));
  if (!p.ok() || (x.dtype != DType::kS8 && x.dtype != DType::kU8)) return nullptr;
  *params = *p;
  return &dq;
}

// DequantizeLinear(DynamicQuantizeLinear(x)) producing value v: the DynamicQuantizeLinear
// node, or null.
const Node* DynamicDqOf(const Graph& g, int v) {
  if (v < 0 || g.values[v].producer < 0) return nullptr;
  const Node& dq = g.nodes[g.values[v].producer];
  if (dq.removed || dq.op_type != "DequantizeLinear" || dq.inputs.size() < 3) return nullptr;
  const int p = g.values[dq.inputs[0]].producer;
  if (p < 0) return nullptr;
  const Node& d = g.nodes[p];
  if (d.op_type != "DynamicQuantizeLinear" || d.outputs.size() < 3) return nullptr;
  if (dq.inputs[0] != d.outputs[0] || dq.inputs[1] != d.outputs[1] || dq.inputs[2] != d.outputs[2]) return nullptr;
  return &d;
}

// When every reader of v is a QuantizeLinear with one set of constant parameters (and v
// is not a graph output): those nodes' indices and the parameters.
bool AllReadersQuantize(const Graph& g, int v, std::vector<int>* qs, QuantParams* params) {
  if (g.IsGraphOutput(v)) return false;
  const std::vector<int> readers = g.Consumers(v);
  if (readers.empty()) return false;
  for (int r : readers) {
    const Node& q = g.nodes[r];
    if (q.op_type != "QuantizeLinear" || q.inputs[0] != v) return false;
    auto p = QdqParams(q, MetasOfNode(g, q), static_cast<int>(g.values[v].shape.size()));
    if (!p.ok() || p->per_channel()) return false;
    if (!qs->empty() && !(*p == *params)) return false;
    *params = *p;
    qs->push_back(r);
  }
  return true;
}

// The Q nodes go: their outputs are now written by the node itself.
void TakeOverOutput(Graph& g, Node& n, const std::vector<int>& qs) {
  const int yq = g.nodes[qs[0]].outputs[0];
  for (size_t k = 1; k < qs.size(); ++k) ReplaceUses(g, g.nodes[qs[k]].outputs[0], yq);
  for (int q : qs) g.nodes[q].removed = true;
  n.outputs[0] = yq;
}

// The signed `bits` grid [-2^(bits-1), 2^(bits-1) - 1].
struct SignedGrid {
  explicit SignedGrid(int bits) : lo(-(1 << (bits - 1))), hi((1 << (bits - 1)) - 1) {}
  bool Holds(int v) const { return v >= lo && v <= hi; }
  int lo, hi;
};

// Whether every weight lies on `grid`.
bool FitsGrid(const Tensor& w, SignedGrid grid) {
  for (int64_t i = 0; i < w.num_elements(); ++i)
    if (!grid.Holds(w.dtype() == DType::kS8 ? w.data<int8_t>()[i] : w.data<uint8_t>()[i])) return false;
  return true;
}

// The weight value the integer kernel reads: `wq` itself, or, for weights with a zero
// point, a new constant holding w - z when that still fits the kernels' exact signed
// grid of `bits` (oneDNN's int8 convolution takes no weight zero point); nullopt when it
// does not fit: the layer then stays in float (DQ -> layer -> Q), which is exact.
std::optional<int> SymmetrizeWeights(Graph& g, int wq, QuantParams* p, int bits) {
  bool any = false;
  for (int32_t z : p->zero_point) any |= z != 0;
  const Tensor& w = *g.values[wq].constant;
  const SignedGrid grid(bits);
  if (!any) return FitsGrid(w, grid) ? std::optional<int>(wq) : std::nullopt;
  Tensor out(DType::kS8, w.shape());
  const int64_t channels = p->per_channel() ? w.shape()[p->axis] : 1;
  int64_t inner = 1;
  if (p->per_channel())
    for (size_t d = p->axis + 1; d < w.shape().size(); ++d) inner *= w.shape()[d];
  for (int64_t i = 0; i < w.num_elements(); ++i) {
    const int64_t c = channels == 1 ? 0 : (i / inner) % channels;
    const int32_t q = (w.dtype() == DType::kS8 ? w.data<int8_t>()[i] : w.data<uint8_t>()[i]) - p->zero_point[c];
    if (!grid.Holds(q)) return std::nullopt;
    out.data<int8_t>()[i] = static_cast<int8_t>(q);
  }
  Value v = g.values[wq];
  v.name += "_symmetric";
  v.dtype = DType::kS8;
  v.constant = std::move(out);
  std::fill(p->zero_point.begin(), p->zero_point.end(), 0);
  p->dtype = DType::kS8;
  return g.AddValue(std::move(v));
}

// The axis per-channel weights must use: the output channels (Conv dim 0, Gemm's N).
int WeightChannelAxis(const Node& n) {
  return n.op_type == "Gemm" && n.attrs.GetInt("transB", 0).value_or(0) == 0 ? 1 : 0;
}

// Dynamic activations: DynamicQuantizeLinear -> DQ -> layer becomes an integer layer that
// reads x_q and the runtime scale and zero point; its output stays float.
void LowerDynamic(Graph& g, Node& n, const Node& d, const Node& dw, QuantParams pw, int bits) {
  const std::optional<int> wq = SymmetrizeWeights(g, dw.inputs[0], &pw, bits);
  if (!wq) return;
  NodeQuant q;
  q.inputs.resize(n.inputs.size());
  QuantParams px;
  px.dtype = DType::kU8;
  px.scale = {1.f};
  px.zero_point = {0};
  q.inputs[0] = px;
  q.inputs[1] = pw;
  q.dynamic_scale = d.outputs[1];
  q.dynamic_zero_point = d.outputs[2];
  n.inputs[0] = d.outputs[0];
  n.inputs[1] = *wq;
  n.quant = std::move(q);
}

void LowerCompute(Graph& g, Node& n, int bits) {
  QuantParams px, pw;
  const Node* dx = DqOf(g, n.inputs[0], &px);
  const Node* dw = n.inputs.size() > 1 ? DqOf(g, n.inputs[1], &pw) : nullptr;
  if (!dw || !g.values[dw->inputs[0]].constant) return;
  if (pw.per_channel() && pw.axis != WeightChannelAxis(n)) return;
  if (!dx) {
    if (const Node* d = DynamicDqOf(g, n.inputs[0])) LowerDynamic(g, n, *d, *dw, pw, bits);
    return;
  }
  if (px.per_channel()) return;
  const std::optional<int> wq = SymmetrizeWeights(g, dw->inputs[0], &pw, bits);
  if (!wq) return;
  NodeQuant q;
  q.inputs.resize(n.inputs.size());
  q.inputs[0] = px;
  q.inputs[1] = pw;
  n.inputs[0] = dx->inputs[0];
  n.inputs[1] = *wq;
  std::vector<int> qs;
  QuantParams py;
  if (AllReadersQuantize(g, n.outputs[0], &qs, &py)) {
    q.output = py;
    TakeOverOutput(g, n, qs);
    for (PostOp& p : n.post_ops) {
      QuantParams pr;
      if (p.kind != "Sum") continue;
      const Node* dr = DqOf(g, p.sum_input, &pr);
      if (dr && !pr.per_channel() && SizeOf(pr.dtype) == SizeOf(py.dtype)) {
        p.sum_input = dr->inputs[0];
        q.sum = pr;
      }
    }
  }
  n.quant = std::move(q);
}

void LowerMover(Graph& g, Node& n) {
  const int inputs = n.op_type == "Concat" ? static_cast<int>(n.inputs.size()) : 1;
  QuantParams p0;
  std::vector<int> sources;
  for (int k = 0; k < inputs; ++k) {
    QuantParams pk;
    const Node* d = DqOf(g, n.inputs[k], &pk);
    if (!d || pk.per_channel() || (k > 0 && !(pk == p0))) return;
    p0 = pk;
    sources.push_back(d->inputs[0]);
  }
  std::vector<int> qs;
  QuantParams py;
  if (!AllReadersQuantize(g, n.outputs[0], &qs, &py) || !(py == p0)) return;
  NodeQuant q;
  q.inputs.resize(n.inputs.size());
  for (int k = 0; k < inputs; ++k) {
    q.inputs[k] = p0;
    n.inputs[k] = sources[k];
  }
  q.output = p0;
  TakeOverOutput(g, n, qs);
  n.quant = std::move(q);
}

}  // namespace

bool IsIntegerMover(const std::string& op_type) {
  static const std::set<std::string> kMovers = {"MaxPool",   "AveragePool", "GlobalAveragePool",
                                                "Flatten",   "Reshape",     "Squeeze",
                                                "Unsqueeze", "Transpose",   "Concat"};
  return kMovers.count(op_type) > 0;
}

absl::Status LowerQdq(Graph& g, int exact_weight_bits) {
  if (exact_weight_bits < 2 || exact_weight_bits > 8)
    return absl::InvalidArgumentError(absl::StrCat("LowerQdq: exact_weight_bits ", exact_weight_bits, " not in [2, 8]"));
  bool any = false;
  for (const Node& n : g.nodes) any |= n.op_type == "DequantizeLinear";
  if (!any) return absl::OkStatus();
  for (Node& n : g.nodes) {
    if (n.removed || n.quant || n.outputs.empty()) continue;
    if (n.op_type == "Conv" || n.op_type == "Gemm") LowerCompute(g, n, exact_weight_bits);
    else if (IsIntegerMover(n.op_type) && n.post_ops.empty()) LowerMover(g, n);
  }
  // Dead DQ/Q nodes (their readers were lowered).
  for (bool changed = true; changed;) {
    changed = false;
    for (Node& n : g.nodes) {
      if (n.removed || (n.op_type != "DequantizeLinear" && n.op_type != "QuantizeLinear")) continue;
      if (!g.IsGraphOutput(n.outputs[0]) && g.Consumers(n.outputs[0]).empty()) {
        n.removed = true;
        changed = true;
      }
    }
  }
  g.Compact();
  // Lowered outputs change type: integer values now flow where float ones did.
  for (const Node& n : g.nodes)
    if (n.quant && n.quant->output) g.values[n.outputs[0]].dtype = n.quant->output->dtype;
  return absl::OkStatus();
}

}  // namespace qbench
