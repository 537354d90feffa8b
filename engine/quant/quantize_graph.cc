#include "engine/quant/quantize_graph.h"
#include "engine/quant/qparams.h"
#include "engine/quant/range_method.h"
#include "engine/quant/rounding.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/ops/quantize_linear.h"
#include "engine/passes/passes.h"
#include "engine/passes/rewrite_util.h"
#include "engine/quant/bias.h"
#include "common/sha256.h"

namespace qbench::quant {
namespace {

struct LayerSpec {
  WeightSpec weights;
  ActivationSpec activations;
  bool fp32 = false;
  bool bf16 = false;  // a float layer that runs in bfloat16
  Rounding rounding = Rounding::kNearest;
};

bool Matches(const LayerOverride& o, const Node& n) {
  if (!o.op_type.empty()) return o.op_type == n.op_type;
  if (o.node == n.name) return true;
  for (const PostOp& p : n.post_ops)
    if (p.from_node == o.node) return true;
  return false;
}

LayerSpec SpecFor(const Node& n, const QuantConfig& c) {
  LayerSpec s{c.weights, c.activations, false, false, c.rounding.method};
  for (const LayerOverride& o : c.overrides) {
    if (!Matches(o, n)) continue;
    s.fp32 |= o.fp32;
    s.bf16 |= o.bf16;
    if (o.weight_bits) s.weights.bits = *o.weight_bits;
    if (o.weight_method) s.weights.method = *o.weight_method;
    if (o.activation_bits) s.activations.bits = *o.activation_bits;
    if (o.activation_method) s.activations.method = *o.activation_method;
    if (o.rounding) s.rounding = *o.rounding;
  }
  return s;
}

// Why a Conv/Gemm cannot be quantized ("" when it can).
std::string ComputeBlocker(const Graph& g, const Node& n) {
  const Tensor* w = ConstantInput(g, n, 1);
  if (w == nullptr || w->dtype() != DType::kF32) return "weights are not a float32 constant";
  if (n.inputs.size() > 2 && n.inputs[2] >= 0 && ConstantInput(g, n, 2) == nullptr) return "bias is not a constant";
  if (n.op_type == "Gemm") {
    if (n.attrs.GetInt("transA", 0).value_or(1) != 0) return "Gemm with transA is kept in float";
    if (w->rank() != 2) return "Gemm weights are not 2-D";
  }
  return "";
}

int WeightAxis(const Node& n) {
  if (n.op_type == "Gemm") return n.attrs.GetInt("transB", 0).value_or(0) != 0 ? 0 : 1;
  return 0;  // Conv: {OC, IC/G, K...}
}

int AddValueLike(Graph& g, const Value& like, const std::string& name, DType dtype) {
  Value v;
  v.name = name;
  v.dtype = dtype;
  v.shape = like.shape;
  v.has_shape = like.has_shape;
  return g.AddValue(std::move(v));
}

Tensor ScaleTensor(const QuantParams& p) {
  Tensor t(DType::kF32, p.per_channel() ? Shape{static_cast<int64_t>(p.scale.size())} : Shape{});
  std::copy(p.scale.begin(), p.scale.end(), t.data<float>());
  return t;
}

Tensor ZeroPointTensor(const QuantParams& p) {
  Tensor t(p.dtype, p.per_channel() ? Shape{static_cast<int64_t>(p.zero_point.size())} : Shape{});
  for (size_t i = 0; i < p.zero_point.size(); ++i) {
    if (p.dtype == DType::kS8) t.data<int8_t>()[i] = static_cast<int8_t>(p.zero_point[i]);
    else t.data<uint8_t>()[i] = static_cast<uint8_t>(p.zero_point[i]);
  }
  return t;
}

Node QdqNode(const std::string& op, const std::string& name, int x, int scale, int zp, int out,
             const QuantParams& p) {
  Node n;
  n.name = name;
  n.op_type = op;
  n.inputs = {x, scale, zp};
  n.outputs = {out};
  n.attrs.Set("__opset", int64_t{13});
  if (p.per_channel()) n.attrs.Set("axis", static_cast<int64_t>(p.axis));
  if (op == "QuantizeLinear" && p.narrow()) {
    n.attrs.Set("__qmin", static_cast<int64_t>(p.qmin));
    n.attrs.Set("__qmax", static_cast<int64_t>(p.qmax));
  }
  return n;
}

// Rounds a layer's weights by a Hessian-guided or learned method (quant/rounding.h),
// keeping nearest rounding, and saying why, where the layer has no Hessian.
absl::Status ReRound(const Node& n, const Tensor& w, Rounding method, const RoundingOptions& options,
                     const HessianSet* hessians, RoundingCache* cache, QuantizedWeights* qw, LayerReport* report) {
  report->rounding = Rounding::kNearest;
  if (cache) {
    auto c = cache->find(n.outputs[0]);
    if (c != cache->end() && c->second.q.shape() == qw->q.shape()) {
      qw->q = c->second.q.Clone();
      report->rounding = c->second.report.rounding;
      report->rounding_seconds = c->second.report.rounding_seconds;
      report->rounding_sqnr_db = c->second.report.rounding_sqnr_db;
      report->nearest_sqnr_db = c->second.report.nearest_sqnr_db;
      report->rounding_note = c->second.report.rounding_note;
      return absl::OkStatus();
    }
  }
  if (hessians == nullptr) {
    report->rounding_note = "kept nearest rounding: no calibration Hessians";
    return absl::OkStatus();
  }
  auto h = hessians->layers.find(n.outputs[0]);
  if (h == hessians->layers.end()) {
    auto why = hessians->skipped.find(n.outputs[0]);
    report->rounding_note = absl::StrCat("kept nearest rounding: ",
                                         why != hessians->skipped.end() ? why->second : "no Hessian for this layer");
    return absl::OkStatus();
  }
  RoundingOptions o = options;
  o.method = method;
  QB_ASSIGN_OR_RETURN(RoundingReport r, RoundLayerWeights(n, w, h->second, o, qw));
  report->rounding = r.method;
  report->rounding_seconds = r.seconds;
  report->rounding_sqnr_db = r.sqnr_db;
  report->nearest_sqnr_db = r.nearest_sqnr_db;
  report->rounding_note = r.note;
  if (cache) (*cache)[n.outputs[0]] = RoundedLayer{qw->q.Clone(), *report};
  return absl::OkStatus();
}

}  // namespace

std::string ParamsSha256(const QuantizedModel& m) {
  std::string bytes;
  auto add = [&](const void* p, size_t n) { bytes.append(static_cast<const char*>(p), n); };
  for (const auto& [v, p] : m.activations) {
    add(&v, sizeof v);
    add(p.scale.data(), p.scale.size() * sizeof(float));
    add(p.zero_point.data(), p.zero_point.size() * sizeof(int32_t));
  }
  // Weight constants and their scales/zero points: the inputs of DequantizeLinear nodes.
  for (const Node& n : m.graph.nodes) {
    if (n.op_type != "DequantizeLinear") continue;
    for (int v : n.inputs)
      if (v >= 0 && m.graph.values[v].constant) add(m.graph.values[v].constant->raw(), m.graph.values[v].constant->nbytes());
  }
  // Biases sit on the int32 grid: they are part of the quantized model too.
  for (const Node& n : m.graph.nodes)
    if ((n.op_type == "Conv" || n.op_type == "Gemm") && n.inputs.size() > 2 && n.inputs[2] >= 0 &&
        m.graph.values[n.inputs[2]].constant)
      add(m.graph.values[n.inputs[2]].constant->raw(), m.graph.values[n.inputs[2]].constant->nbytes());
  return qbench::Sha256Hex(bytes);
}

int64_t FloatModelBytes(const Graph& g) {
  std::set<int> used;
  for (const Node& n : g.nodes)
    for (int v : n.inputs)
      if (v >= 0 && g.values[v].constant) used.insert(v);
  int64_t bytes = 0;
  for (int v : used) bytes += static_cast<int64_t>(g.values[v].constant->nbytes());
  return bytes;
}

absl::StatusOr<QuantizedModel> QuantizeGraph(const Graph& fp32, const QuantConfig& config,
                                             const std::map<int, Histogram>& histograms,
                                             const std::map<int, std::vector<double>>* channel_means,
                                             const HessianSet* hessians, RoundingCache* cache) {
  if (config.precision != Precision::kInt)
    return absl::InvalidArgumentError(absl::StrCat("configuration \"", config.name, "\" is not an integer one"));
  if (config.bias_correction && (config.activations.dynamic || channel_means == nullptr))
    return absl::InvalidArgumentError(absl::StrCat("configuration \"", config.name,
                                                   "\": bias_correction needs static activations (calibration data)"));
  const bool dynamic = config.activations.dynamic;
  QuantizedModel out;
  Graph& g = out.graph;
  g = fp32;
  const int n_nodes = static_cast<int>(g.nodes.size());

  // Every override must name something in the model.
  for (const LayerOverride& o : config.overrides) {
    bool found = false;
    for (const Node& n : g.nodes) found |= Matches(o, n);
    if (!found)
      return absl::InvalidArgumentError(absl::StrCat(
          "configuration \"", config.name, "\": override ",
          o.node.empty() ? absl::StrCat("op_type \"", o.op_type, "\"") : absl::StrCat("node \"", o.node, "\""),
          " matches no node of the model"));
  }

  // 1. Which nodes run quantized.
  std::vector<bool> quantized(n_nodes, false);
  std::vector<LayerSpec> spec(n_nodes);
  std::map<int, size_t> report_of;  // node index -> its entry in out.layers
  for (int i = 0; i < n_nodes; ++i) {
    const Node& n = g.nodes[i];
    spec[i] = SpecFor(n, config);
    if (n.op_type == "Conv" || n.op_type == "Gemm") {
      LayerReport r{n.name, n.op_type};
      r.output_value = n.outputs[0];
      const std::string blocker = ComputeBlocker(g, n);
      if (!blocker.empty()) r.reason = blocker;
      else if (spec[i].bf16) r.reason = "kept in float by an override, run in bf16";
      else if (spec[i].fp32) r.reason = "kept in fp32 by an override";
      else quantized[i] = true;
      r.quantized = quantized[i];
      if (r.quantized) {
        r.weight_bits = spec[i].weights.bits;
        r.activation_bits = spec[i].activations.bits;
        r.weight_elements = ConstantInput(g, n, 1)->num_elements();
      }
      report_of[i] = out.layers.size();
      out.layers.push_back(r);
    } else if (!dynamic && IsIntegerMover(n.op_type) && !spec[i].fp32) {
      const int inputs = n.op_type == "Concat" ? static_cast<int>(n.inputs.size()) : 1;
      bool all = inputs > 0;
      for (int k = 0; k < inputs; ++k) {
        const int v = n.inputs[k];
        const int p = v >= 0 ? g.values[v].producer : -1;
        all &= p >= 0 && quantized[p];
      }
      quantized[i] = all;
    }
  }

  // 2. Activation values behind Q -> DQ, with the spec of their first quantized reader.
  std::map<int, ActivationSpec> act;
  auto want = [&](int v, const ActivationSpec& a) {
    if (v >= 0 && !g.values[v].constant && !act.count(v)) act[v] = a;
  };
  for (int i = 0; i < n_nodes; ++i) {
    if (!quantized[i]) continue;
    const Node& n = g.nodes[i];
    const bool compute = n.op_type == "Conv" || n.op_type == "Gemm";
    const int inputs = n.op_type == "Concat" ? static_cast<int>(n.inputs.size()) : 1;
    for (int k = 0; k < inputs; ++k) want(n.inputs[k], spec[i].activations);
    if (compute)
      for (const PostOp& p : n.post_ops)
        if (p.kind == "Sum") want(p.sum_input, spec[i].activations);
  }

  // 3. Parameters: from histograms; Concat inputs share the union range; movers pass
  // their input's parameters to their output.
  if (!dynamic) {
    for (const auto& [v, a] : act) {
      auto h = histograms.find(v);
      if (h == histograms.end() || h->second.count() == 0)
        return absl::InternalError(absl::StrCat("no calibration statistics for tensor \"", g.values[v].name, "\""));
      RangeOptions ro{QuantGrid{a.bits, a.is_signed}, a.symmetric, a.percentile};
      const RangeChoice r = RangeMethodOf(a.method).fn(h->second, ro);
      out.activations[v] = ChooseParams(r.lo, r.hi, ro.grid, a.symmetric, config.scale);
    }
    for (int i = 0; i < n_nodes; ++i) {
      const Node& n = g.nodes[i];
      if (!quantized[i] || !IsIntegerMover(n.op_type)) continue;
      const int o = n.outputs[0];
      if (n.op_type == "Concat") {
        float lo = 0, hi = 0;
        for (int v : n.inputs) {
          const Histogram& h = histograms.at(v);
          const ActivationSpec& a = act.at(v);
          const RangeChoice r =
              RangeMethodOf(a.method).fn(h, RangeOptions{QuantGrid{a.bits, a.is_signed}, a.symmetric, a.percentile});
          lo = std::min(lo, r.lo);
          hi = std::max(hi, r.hi);
        }
        const ActivationSpec& a = act.at(n.inputs[0]);
        const QuantParams p = ChooseParams(lo, hi, QuantGrid{a.bits, a.is_signed}, a.symmetric, config.scale);
        for (int v : n.inputs) out.activations[v] = p;
        if (act.count(o)) out.activations[o] = p;
      } else if (act.count(o)) {
        out.activations[o] = out.activations.at(n.inputs[0]);
      }
    }
  }

  // 4. Weights: per-channel (or tensor) int8 constants behind DequantizeLinear. With the
  // dyadic constraint each requantization multiplier M = s_x s_w[c] / s_y is rounded to
  // m / 2^k first and s_w[c] is re-derived from it, so the integer-only form is exact.
  std::map<int, std::vector<Node>> before;  // node index -> nodes to insert before it
  for (int i = 0; i < n_nodes; ++i) {
    if (!quantized[i]) continue;
    Node& n = g.nodes[i];
    if (n.op_type != "Conv" && n.op_type != "Gemm") continue;
    const Tensor w = *ConstantInput(g, n, 1);  // shares the buffer; g.values grows below
    const std::string what = absl::StrCat("node \"", n.name, "\" weights \"", g.values[n.inputs[1]].name, "\"");
    QB_ASSIGN_OR_RETURN(QuantizedWeights qw, QuantizeWeights(w, WeightAxis(n), spec[i].weights, config.scale, what));
    if (config.scale == ScaleConstraint::kDyadic && !dynamic) {
      const float sx = out.activations.at(n.inputs[0]).scale[0];
      auto y = out.activations.find(n.outputs[0]);
      const float sy = y != out.activations.end() ? y->second.scale[0] : 1.f;
      for (float& sw : qw.params.scale)
        sw = static_cast<float>(NearestDyadic(static_cast<double>(sx) * sw / sy, config.dyadic_bits) * sy / sx);
      QB_ASSIGN_OR_RETURN(qw.q, QuantizeTensor(w, qw.params));
    }
    if (RoundingOf(spec[i].rounding).needs_hessian)
      QB_RETURN_IF_ERROR(ReRound(n, w, spec[i].rounding, config.rounding, hessians, cache, &qw,
                                 &out.layers[report_of.at(i)]));
    out.layers[report_of.at(i)].weight_entropy_bits = EntropyBits(qw.q);
    // The bias: corrected for the weights' quantization shift, then on the int32 grid.
    if (!dynamic) {
      const float sx = out.activations.at(n.inputs[0]).scale[0];
      const int64_t channels = n.op_type == "Gemm" ? (WeightAxis(n) == 0 ? w.dim(0) : w.dim(1)) : w.dim(0);
      const Tensor* b = ConstantInput(g, n, 2);
      if (n.op_type == "Gemm" && b && (b->num_elements() != channels || n.attrs.GetFloat("beta", 1.f).value_or(0) != 1.f))
        b = nullptr;  // a broadcast or scaled C stays as it is
      if (b || n.inputs.size() < 3 || n.inputs[2] < 0) {
        Tensor bias = b ? b->Clone() : Tensor(DType::kF32, {channels});
        if (config.bias_correction) {
          auto mean = channel_means->find(n.inputs[0]);
          if (mean == channel_means->end())
            return absl::InternalError(absl::StrCat("no channel means for the input of node \"", n.name, "\""));
          const Tensor wq_real = DequantizeWith(qw.q, qw.params);
          const std::vector<double> shift =
              BiasCorrection(w, wq_real, mean->second, n.op_type == "Gemm", WeightAxis(n) == 0,
                             n.op_type == "Conv" ? n.attrs.GetInt("group", 1).value_or(1) : 1);
          for (int64_t c = 0; c < channels; ++c) bias.data<float>()[c] += static_cast<float>(shift[c]);
        }
        QB_RETURN_IF_ERROR(RoundBiasToInt32(&bias, sx, qw.params, what));
        const std::string bname = absl::StrCat(n.name, "_bias_int32_grid");
        if (n.inputs.size() < 3) n.inputs.resize(3, -1);
        n.inputs[2] = g.AddConstant(bname, std::move(bias));
      }
    }
    const std::string base = g.values[n.inputs[1]].name;
    const int wq = g.AddConstant(base + "_quantized", std::move(qw.q));
    const int ws = g.AddConstant(base + "_scale", ScaleTensor(qw.params));
    const int wz = g.AddConstant(base + "_zero_point", ZeroPointTensor(qw.params));
    const int wdq = AddValueLike(g, g.values[n.inputs[1]], base + "_dequantized", DType::kF32);
    before[i].push_back(QdqNode("DequantizeLinear", base + "_DequantizeLinear", wq, ws, wz, wdq, qw.params));
    out.packed_bytes += (g.values[wq].constant->num_elements() * spec[i].weights.bits + 7) / 8 +
                        static_cast<int64_t>(qw.params.scale.size()) * 5;
    n.inputs[1] = wdq;
  }

  // 5. Q -> DQ (or DynamicQuantizeLinear -> DQ) after each quantized activation.
  std::map<int, int> replaced;  // value -> its dequantized twin
  std::map<int, std::vector<Node>> after;  // producer node index (-1: graph input) -> nodes
  for (const auto& [v, a] : act) {
    const Value val = g.values[v];  // a copy: adding values below reallocates g.values
    const int producer = val.producer;
    const std::string base = val.name;
    const int vq = AddValueLike(g, val, base + "_quantized", a.is_signed && !dynamic ? DType::kS8 : DType::kU8);
    const int vdq = AddValueLike(g, val, base + "_dequantized", DType::kF32);
    std::vector<Node>& list = after[producer];
    if (dynamic) {
      Value sv;
      sv.name = base + "_scale";
      sv.shape = {};
      sv.has_shape = true;
      const int s = g.AddValue(sv);
      Value zv = sv;
      zv.name = base + "_zero_point";
      zv.dtype = DType::kU8;
      const int z = g.AddValue(zv);
      Node dq;
      dq.name = base + "_DynamicQuantizeLinear";
      dq.op_type = "DynamicQuantizeLinear";
      dq.inputs = {v};
      dq.outputs = {vq, s, z};
      list.push_back(dq);
      QuantParams none;
      list.push_back(QdqNode("DequantizeLinear", base + "_DequantizeLinear", vq, s, z, vdq, none));
    } else {
      const QuantParams& p = out.activations.at(v);
      const int s = g.AddConstant(base + "_scale", ScaleTensor(p));
      const int z = g.AddConstant(base + "_zero_point", ZeroPointTensor(p));
      list.push_back(QdqNode("QuantizeLinear", base + "_QuantizeLinear", v, s, z, vq, p));
      list.push_back(QdqNode("DequantizeLinear", base + "_DequantizeLinear", vq, s, z, vdq, p));
      out.packed_bytes += 5;
    }
    replaced[v] = vdq;
    out.twins[vq] = v;
  }
  // Readers switch to the dequantized twin; graph outputs keep the float value.
  for (int i = 0; i < n_nodes; ++i) {
    Node& n = g.nodes[i];
    for (int& v : n.inputs)
      if (v >= 0 && replaced.count(v)) v = replaced[v];
    for (PostOp& p : n.post_ops)
      if (p.sum_input >= 0 && replaced.count(p.sum_input)) p.sum_input = replaced[p.sum_input];
  }

  // 6. The new node order: inserted nodes sit right after the producer or before the reader.
  std::vector<Node> nodes;
  for (Node& q : after[-1]) nodes.push_back(std::move(q));
  for (int i = 0; i < n_nodes; ++i) {
    for (Node& q : before[i]) nodes.push_back(std::move(q));
    nodes.push_back(g.nodes[i]);
    for (Node& q : after[i]) nodes.push_back(std::move(q));
  }
  g.nodes = std::move(nodes);
  g.RebuildProducers();

  // Float layers overridden to bf16 take bfloat16 inputs and weights (the kernels read
  // the attribute, as in a bf16 configuration).
  for (Node& n : g.nodes)
    if ((n.op_type == "Conv" || n.op_type == "Gemm") && ComputeBlocker(g, n).empty() && SpecFor(n, config).bf16)
      n.attrs.Set("__bf16", int64_t{1});

  // The float constants that remain (biases, fp32 layers) count at full size; the
  // weights of a bf16 layer at two bytes each.
  std::set<int> counted;
  for (const Node& n : g.nodes) {
    if (n.op_type == "DequantizeLinear" || n.op_type == "QuantizeLinear") continue;
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const int v = n.inputs[k];
      if (v < 0 || !g.values[v].constant || !counted.insert(v).second) continue;
      const Tensor& t = *g.values[v].constant;
      const bool bf16_weight = k == 1 && n.attrs.Has("__bf16") && t.dtype() == DType::kF32;
      out.packed_bytes += bf16_weight ? t.num_elements() * 2 : static_cast<int64_t>(t.nbytes());
    }
  }
  return out;
}

}  // namespace qbench::quant
