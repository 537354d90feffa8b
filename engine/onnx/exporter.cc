#include "engine/onnx/exporter.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <type_traits>
#include <variant>

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace qbench {
namespace {

static_assert(std::endian::native == std::endian::little, "raw_data is written as the host's bytes");

constexpr float kInf = std::numeric_limits<float>::infinity();

const Tensor* ConstOf(const Graph& g, int v) {
  return v >= 0 && g.values[v].constant ? &*g.values[v].constant : nullptr;
}

// The DequantizeLinear node producing `v` (the graph is compacted), or nullptr.
const Node* DequantizeProducer(const Graph& g, int v) {
  if (v < 0 || g.values[v].producer < 0) return nullptr;
  const Node& p = g.nodes[g.values[v].producer];
  return p.op_type == "DequantizeLinear" ? &p : nullptr;
}

int64_t NodeOpset(const Graph& g, const Node& n) { return n.attrs.GetInt("__opset", g.opset).value_or(g.opset); }

// The output-channel axis of a Conv ({OC, IC/G, K...}) or Gemm (B is {K, N}, or {N, K} with transB) weight.
int WeightOutputAxis(const Node& n) {
  if (n.op_type == "Gemm") return n.attrs.GetInt("transB", 0).value_or(0) != 0 ? 0 : 1;
  return 0;
}

// The int32 bias of one node, or nullopt when the node does not have the QDQ form.
struct IntBias {
  Tensor q, scale;
  double max_abs_error = 0, max_error_steps = 0;
};

std::optional<IntBias> IntBiasFor(const Graph& g, const Node& n) {
  if ((n.op_type != "Conv" && n.op_type != "Gemm") || n.inputs.size() < 3) return std::nullopt;
  const Tensor* b = ConstOf(g, n.inputs[2]);
  const Node* wdq = DequantizeProducer(g, n.inputs[1]);
  const Node* xdq = DequantizeProducer(g, n.inputs[0]);
  if (b == nullptr || b->dtype() != DType::kF32 || b->rank() != 1 || wdq == nullptr || xdq == nullptr)
    return std::nullopt;
  if (n.op_type == "Gemm" && (n.attrs.GetFloat("alpha", 1.f).value_or(0.f) != 1.f ||
                              n.attrs.GetFloat("beta", 1.f).value_or(0.f) != 1.f))
    return std::nullopt;
  const Tensor* wq = ConstOf(g, wdq->inputs[0]);
  const Tensor* sw = wdq->inputs.size() > 1 ? ConstOf(g, wdq->inputs[1]) : nullptr;
  const Tensor* sx = xdq->inputs.size() > 1 ? ConstOf(g, xdq->inputs[1]) : nullptr;
  if (wq == nullptr || wq->dtype() != DType::kS8 || sw == nullptr || sw->dtype() != DType::kF32 ||
      sx == nullptr || sx->dtype() != DType::kF32 || sx->num_elements() != 1)
    return std::nullopt;
  const int out_axis = WeightOutputAxis(n);
  if (wq->rank() <= out_axis) return std::nullopt;
  const int64_t oc = wq->dim(out_axis);
  if (b->num_elements() != oc) return std::nullopt;
  if (sw->num_elements() != 1) {
    int64_t axis = wdq->attrs.GetInt("axis", 1).value_or(-99);
    if (axis < 0) axis += wq->rank();
    if (axis != out_axis || sw->num_elements() != oc) return std::nullopt;
  }
  IntBias r{Tensor(DType::kS32, {oc}), Tensor(DType::kF32, {oc})};
  for (int64_t c = 0; c < oc; ++c) {
    const float s = sx->data<float>()[0] * sw->data<float>()[sw->num_elements() == 1 ? 0 : c];
    const float bias = b->data<float>()[c];
    const double q = std::nearbyint(static_cast<double>(bias) / s);
    if (!(s > 0) || !std::isfinite(s) || !(std::fabs(q) <= std::numeric_limits<int32_t>::max())) return std::nullopt;
    r.q.data<int32_t>()[c] = static_cast<int32_t>(q);
    r.scale.data<float>()[c] = s;
    const double err = std::fabs(static_cast<double>(bias) - static_cast<double>(s * static_cast<float>(q)));
    r.max_abs_error = std::max(r.max_abs_error, err);
    r.max_error_steps = std::max(r.max_error_steps, err / s);
  }
  return r;
}

// Writes a Graph into a GraphProto. Value names are made unique once, up front (the
// lowest value id keeps a contested name); names for new values come from Fresh().
class Writer {
 public:
  Writer(const Graph& g, int64_t opset, onnx::GraphProto* gp, ExportStats* stats)
      : g_(g), opset_(opset), gp_(gp), stats_(stats) {}

  absl::Status Run() {
    AssignNames();
    gp_->set_name(g_.name.empty() ? "qbench" : g_.name);
    for (int v : g_.inputs) WriteValueInfo(v, gp_->add_input());
    for (size_t v = 0; v < g_.values.size(); ++v)
      if (referenced_[v] && g_.values[v].constant && g_.values[v].producer < 0)
        WriteInitializer(names_[v], *g_.values[v].constant);
    for (const Node& n : g_.nodes) QB_RETURN_IF_ERROR(WriteNode(n));
    for (int v : g_.outputs) WriteValueInfo(v, gp_->add_output());
    stats_->nodes = gp_->node_size();
    stats_->initializers = gp_->initializer_size();
    return absl::OkStatus();
  }

 private:
  void AssignNames() {
    referenced_.assign(g_.values.size(), false);
    auto mark = [&](int v) {
      if (v >= 0) referenced_[v] = true;
    };
    for (int v : g_.inputs) mark(v);
    for (int v : g_.outputs) mark(v);
    for (const Node& n : g_.nodes) {
      for (int v : n.inputs) mark(v);
      for (int v : n.outputs) mark(v);
      for (const PostOp& p : n.post_ops) mark(p.sum_input);
    }
    names_.assign(g_.values.size(), "");
    for (size_t v = 0; v < g_.values.size(); ++v)
      if (referenced_[v]) names_[v] = Fresh(g_.values[v].name.empty() ? absl::StrCat("value_", v) : g_.values[v].name);
  }

  std::string Fresh(const std::string& base) { return Unique(base, &value_names_); }
  std::string FreshNode(const std::string& base) { return Unique(base, &node_names_); }
  static std::string Unique(const std::string& base, std::set<std::string>* used) {
    std::string name = base;
    for (int k = 1; !used->insert(name).second; ++k) name = absl::StrCat(base, "_", k);
    return name;
  }
  std::string NameOf(int v) const { return v >= 0 ? names_[v] : ""; }

  static void FillTensor(const Tensor& t, const std::string& name, onnx::TensorProto* tp) {
    tp->set_name(name);
    tp->set_data_type(Traits(t.dtype()).onnx_type);
    for (int64_t d : t.shape()) tp->add_dims(d);
    tp->set_raw_data(static_cast<const char*>(t.raw()), t.nbytes());
  }
  void WriteInitializer(const std::string& name, const Tensor& t) { FillTensor(t, name, gp_->add_initializer()); }
  std::string NewConstant(const std::string& base, const Tensor& t) {
    const std::string name = Fresh(base);
    WriteInitializer(name, t);
    return name;
  }

  void WriteValueInfo(int v, onnx::ValueInfoProto* vi) {
    const Value& val = g_.values[v];
    vi->set_name(names_[v]);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(Traits(val.dtype).onnx_type);
    if (!val.has_shape) return;
    auto* shape = tt->mutable_shape();
    for (size_t d = 0; d < val.shape.size(); ++d) {
      auto* dim = shape->add_dim();
      if (val.shape[d] != kDynamicDim) dim->set_dim_value(val.shape[d]);
      else dim->set_dim_param(d == 0 ? "batch" : absl::StrCat(names_[v], "_dim", d));
    }
  }

  static void SetAttribute(const std::string& name, const AttrValue& value, onnx::NodeProto* np) {
    using A = onnx::AttributeProto;
    A* a = np->add_attribute();
    a->set_name(name);
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, int64_t>) {
            a->set_type(A::INT), a->set_i(x);
          } else if constexpr (std::is_same_v<T, float>) {
            a->set_type(A::FLOAT), a->set_f(x);
          } else if constexpr (std::is_same_v<T, std::string>) {
            a->set_type(A::STRING), a->set_s(x);
          } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
            a->set_type(A::INTS);
            for (int64_t i : x) a->add_ints(i);
          } else if constexpr (std::is_same_v<T, std::vector<float>>) {
            a->set_type(A::FLOATS);
            for (float f : x) a->add_floats(f);
          } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            a->set_type(A::STRINGS);
            for (const std::string& s : x) a->add_strings(s);
          } else {
            a->set_type(A::TENSOR);
            FillTensor(x, "", a->mutable_t());
          }
        },
        value);
  }

  onnx::NodeProto* AddNode(const std::string& op, const std::string& name, std::vector<std::string> inputs,
                           const std::vector<std::string>& outputs) {
    while (!inputs.empty() && inputs.back().empty()) inputs.pop_back();
    onnx::NodeProto* np = gp_->add_node();
    np->set_op_type(op);
    np->set_name(FreshNode(name));
    for (const std::string& s : inputs) np->add_input(s);
    for (const std::string& s : outputs) np->add_output(s);
    return np;
  }

  std::string ScalarConstant(const std::string& base, float v) { return NewConstant(base, Tensor::Scalar(v)); }
  std::string Int64Constant(const std::string& base, const std::vector<int64_t>& v) {
    return NewConstant(base, Tensor::FromInt64s({static_cast<int64_t>(v.size())}, v));
  }

  // Moves attributes that became inputs by opset 13 and checks semantics that changed.
  absl::Status Upgrade(const Node& n, std::string* op, std::vector<std::string>* inputs, Attributes* attrs) {
    const int64_t from = NodeOpset(g_, n);
    const std::string where = absl::StrCat("node \"", n.name, "\" (", n.op_type, ", opset ", from, ")");
    auto take_floats_to_input = [&](const char* attr, size_t index, const std::string& base) -> absl::Status {
      if (!attrs->Has(attr)) return absl::OkStatus();
      QB_ASSIGN_OR_RETURN(float f, attrs->GetFloat(attr, 0.f));
      if (inputs->size() <= index) inputs->resize(index + 1);
      (*inputs)[index] = ScalarConstant(base, f);
      attrs->Erase(attr);
      return absl::OkStatus();
    };
    auto take_ints_to_input = [&](const char* attr, size_t index, const std::string& base) -> absl::Status {
      if (!attrs->Has(attr)) return absl::OkStatus();
      QB_ASSIGN_OR_RETURN(std::vector<int64_t> v, attrs->GetInts(attr));
      if (inputs->size() <= index) inputs->resize(index + 1);
      (*inputs)[index] = Int64Constant(base, v);
      attrs->Erase(attr);
      return absl::OkStatus();
    };
    if (*op == "Clip" && from < 11) {
      QB_RETURN_IF_ERROR(take_floats_to_input("min", 1, n.name + "_min"));
      QB_RETURN_IF_ERROR(take_floats_to_input("max", 2, n.name + "_max"));
    } else if (*op == "Pad" && from < 11) {
      QB_RETURN_IF_ERROR(take_ints_to_input("pads", 1, n.name + "_pads"));
      QB_RETURN_IF_ERROR(take_floats_to_input("value", 2, n.name + "_value"));
    } else if ((*op == "Squeeze" || *op == "Unsqueeze") && from < 13) {
      QB_RETURN_IF_ERROR(take_ints_to_input("axes", 1, n.name + "_axes"));
    } else if (*op == "Softmax" && from < 13) {
      // Before 13 Softmax flattened to 2-D at `axis`; the same as 13 only on the last axis.
      const Value& x = g_.values[n.inputs[0]];
      QB_ASSIGN_OR_RETURN(int64_t axis, attrs->GetInt("axis", 1));
      const int64_t rank = static_cast<int64_t>(x.shape.size());
      if (!x.has_shape || (axis < 0 ? axis + rank : axis) != rank - 1)
        return absl::UnimplementedError(absl::StrCat(where, ": Softmax before opset 13 over axis ", axis,
                                                     " of a rank-", rank, " input has no opset-13 equivalent"));
      attrs->Set("axis", rank - 1);
    } else if (*op == "BatchNormalization") {
      if (attrs->GetInt("spatial", 1).value_or(0) != 1)
        return absl::UnimplementedError(absl::StrCat(where, ": spatial = 0 is not expressible at opset 13"));
      attrs->Erase("spatial");
    } else if (*op == "Dropout") {
      *op = "Identity";  // inference mode
      inputs->resize(1);
      *attrs = Attributes();
    } else if (*op == "HardSwish" && opset_ < 14) {
      return absl::UnimplementedError(absl::StrCat(where, ": HardSwish needs opset 14"));
    }
    return absl::OkStatus();
  }

  // Clip in front of a QuantizeLinear on a narrow grid; returns the clipped value's name.
  absl::StatusOr<std::string> GridClip(const Node& n, const std::string& x) {
    const int64_t qmin = n.attrs.GetInt("__qmin", 0).value_or(0), qmax = n.attrs.GetInt("__qmax", 0).value_or(0);
    const Tensor* scale = n.inputs.size() > 1 ? ConstOf(g_, n.inputs[1]) : nullptr;
    const Tensor* zp = n.inputs.size() > 2 ? ConstOf(g_, n.inputs[2]) : nullptr;
    if (scale == nullptr || scale->num_elements() != 1 || (zp != nullptr && zp->num_elements() != 1) ||
        scale->dtype() != DType::kF32)
      return absl::UnimplementedError(absl::StrCat("node \"", n.name,
                                                   "\": a narrow grid is exported only with a constant per-tensor "
                                                   "scale and zero point"));
    int64_t z = 0;
    if (zp != nullptr) z = zp->dtype() == DType::kS8 ? zp->data<int8_t>()[0] : zp->data<uint8_t>()[0];
    const float s = scale->data<float>()[0];
    const float lo = static_cast<float>(qmin - z) * s, hi = static_cast<float>(qmax - z) * s;
    const std::string out = Fresh(x + "_grid_clipped");
    AddNode("Clip", n.name + "_grid_clip",
            {x, ScalarConstant(n.name + "_grid_min", lo), ScalarConstant(n.name + "_grid_max", hi)}, {out});
    ++stats_->grid_clips;
    return out;
  }

  absl::Status WriteNode(const Node& n) {
    std::string op = n.op_type;
    std::vector<std::string> inputs;
    for (int v : n.inputs) inputs.push_back(NameOf(v));
    Attributes attrs;
    for (const auto& [name, value] : n.attrs.all())
      if (!absl::StartsWith(name, "__")) attrs.Set(name, value);
    QB_RETURN_IF_ERROR(Upgrade(n, &op, &inputs, &attrs));
    if (op == "QuantizeLinear" && (n.attrs.Has("__qmin") || n.attrs.Has("__qmax"))) {
      QB_ASSIGN_OR_RETURN(inputs[0], GridClip(n, inputs[0]));
    }
    std::vector<std::string> outputs;
    for (int v : n.outputs) outputs.push_back(NameOf(v));
    if (op == "Identity") outputs.resize(1);  // a Dropout's mask is never read in inference
    const std::string final_out = outputs.empty() ? "" : outputs[0];
    if (!n.post_ops.empty()) outputs[0] = Fresh(final_out + "_" + op);
    onnx::NodeProto* np = AddNode(op, n.name, inputs, outputs);
    for (const auto& [name, value] : attrs.all()) SetAttribute(name, value, np);

    // Post-ops, unfused in order; the last one writes the node's output value.
    std::string cur = outputs.empty() ? "" : outputs[0];
    for (size_t k = 0; k < n.post_ops.size(); ++k) {
      const PostOp& p = n.post_ops[k];
      const bool last = k + 1 == n.post_ops.size();
      const std::string out = last ? final_out : Fresh(absl::StrCat(final_out, "_", p.kind));
      const std::string name = p.from_node.empty() ? absl::StrCat(n.name, "_", p.kind) : p.from_node;
      if (p.kind == "Sum") {
        if (p.sum_input < 0) return absl::InvalidArgumentError(absl::StrCat("node \"", n.name, "\": Sum without input"));
        AddNode("Add", name, {cur, NameOf(p.sum_input)}, {out});
      } else if (p.kind == "Clip") {
        AddNode("Clip", name,
                {cur, p.alpha == -kInf ? "" : ScalarConstant(name + "_min", p.alpha),
                 p.beta == kInf ? "" : ScalarConstant(name + "_max", p.beta)},
                {out});
      } else if (p.kind == "LeakyRelu" || p.kind == "HardSigmoid") {
        onnx::NodeProto* pn = AddNode(p.kind, name, {cur}, {out});
        SetAttribute("alpha", p.alpha, pn);
        if (p.kind == "HardSigmoid") SetAttribute("beta", p.beta, pn);
      } else if (p.kind == "Relu" || p.kind == "Sigmoid" || p.kind == "Tanh" ||
                 (p.kind == "HardSwish" && opset_ >= 14)) {
        AddNode(p.kind, name, {cur}, {out});
      } else {
        return absl::UnimplementedError(absl::StrCat("node \"", n.name, "\": post-op ", p.kind,
                                                     " has no ONNX form at opset ", opset_));
      }
      ++stats_->post_op_nodes;
      cur = out;
    }
    return absl::OkStatus();
  }

  const Graph& g_;
  const int64_t opset_;
  onnx::GraphProto* gp_;
  ExportStats* stats_;
  std::vector<bool> referenced_;
  std::vector<std::string> names_;
  std::set<std::string> value_names_, node_names_;
};

}  // namespace

absl::StatusOr<BiasRewriteStats> QuantizeBiases(Graph& g) {
  g.Compact();
  BiasRewriteStats stats;
  std::map<size_t, Node> before;  // node index -> the bias DequantizeLinear to insert
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    std::optional<IntBias> ib = IntBiasFor(g, g.nodes[i]);
    if (!ib) continue;
    const std::string base = g.values[g.nodes[i].inputs[2]].name;
    const int q = g.AddConstant(base + "_int32", std::move(ib->q));
    const int s = g.AddConstant(base + "_int32_scale", std::move(ib->scale));
    Value out;
    out.name = base + "_int32_dequantized";
    out.shape = g.values[q].shape;
    out.has_shape = true;
    const int dq_out = g.AddValue(std::move(out));
    Node dq;
    dq.name = g.nodes[i].name + "_bias_DequantizeLinear";
    dq.op_type = "DequantizeLinear";
    dq.inputs = {q, s};
    dq.outputs = {dq_out};
    dq.attrs.Set("axis", int64_t{0});
    dq.attrs.Set("__opset", int64_t{13});
    before[i] = std::move(dq);
    g.nodes[i].inputs[2] = dq_out;
    ++stats.biases;
    stats.max_abs_error = std::max(stats.max_abs_error, ib->max_abs_error);
    stats.max_error_steps = std::max(stats.max_error_steps, ib->max_error_steps);
  }
  if (before.empty()) return stats;
  std::vector<Node> nodes;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (auto it = before.find(i); it != before.end()) nodes.push_back(std::move(it->second));
    nodes.push_back(std::move(g.nodes[i]));
  }
  g.nodes = std::move(nodes);
  g.RebuildProducers();
  return stats;
}

absl::Status ExportOnnxModel(const Graph& g, onnx::ModelProto* model, const ExportOptions& options,
                             ExportStats* stats) {
  ExportStats local;
  ExportStats& st = stats ? *stats : local;
  st = ExportStats();
  for (const Node& n : g.nodes)
    if (!n.removed && n.quant)
      return absl::FailedPreconditionError(absl::StrCat("node \"", n.name,
                                                        "\" is lowered to integer execution; export the QDQ graph "
                                                        "(quant::QuantizeGraph's), not a lowered session graph"));
  Graph copy = g;
  copy.Compact();
  if (options.int32_bias) {
    QB_ASSIGN_OR_RETURN(st.bias, QuantizeBiases(copy));
  }
  st.opset = std::max<int64_t>(kExportMinOpset, g.opset);
  model->Clear();
  model->set_ir_version(kExportIrVersion);
  model->set_producer_name("qbench");
  model->set_producer_version("0.2.0");
  auto* op = model->add_opset_import();
  op->set_domain("");
  op->set_version(st.opset);
  QB_RETURN_IF_ERROR(Writer(copy, st.opset, model->mutable_graph(), &st).Run());
  if (options.check) {
    try {
      onnx::checker::check_model(*model);
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("exported model fails onnx::checker: ", e.what()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ExportOnnxBytes(const Graph& g, const ExportOptions& options, ExportStats* stats) {
  onnx::ModelProto model;
  QB_RETURN_IF_ERROR(ExportOnnxModel(g, &model, options, stats));
  std::string bytes;
  if (!model.SerializeToString(&bytes)) return absl::InternalError("exported model does not serialize");
  return bytes;
}

absl::Status ExportOnnx(const Graph& g, const std::string& path, const ExportOptions& options, ExportStats* stats) {
  QB_ASSIGN_OR_RETURN(std::string bytes, ExportOnnxBytes(g, options, stats));
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return absl::PermissionDeniedError(absl::StrCat(path, ": cannot open for writing"));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) return absl::DataLossError(absl::StrCat(path, ": write failed"));
  return absl::OkStatus();
}

}  // namespace qbench
