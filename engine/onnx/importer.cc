#include "engine/onnx/importer.h"

#include <fstream>
#include <map>
#include <sstream>

#include <onnx/onnx_pb.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "engine/onnx/tensor_proto.h"
#include "engine/ops/op_def.h"

namespace qbench {
namespace {

absl::StatusOr<AttrValue> ConvertAttribute(const onnx::AttributeProto& a, const std::string& context) {
  using A = onnx::AttributeProto;
  switch (a.type()) {
    case A::INT: return AttrValue(static_cast<int64_t>(a.i()));
    case A::FLOAT: return AttrValue(a.f());
    case A::STRING: return AttrValue(a.s());
    case A::INTS: return AttrValue(std::vector<int64_t>(a.ints().begin(), a.ints().end()));
    case A::FLOATS: return AttrValue(std::vector<float>(a.floats().begin(), a.floats().end()));
    case A::STRINGS: return AttrValue(std::vector<std::string>(a.strings().begin(), a.strings().end()));
    case A::TENSOR: {
      QB_ASSIGN_OR_RETURN(Tensor t, TensorFromProto(a.t(), context));
      return AttrValue(std::move(t));
    }
    default:
      return absl::UnimplementedError(
          absl::StrCat(context, ": attribute \"", a.name(), "\" has unsupported kind ", static_cast<int>(a.type())));
  }
}

// Shape from a ValueInfo: dim_value -> size, dim_param or missing -> dynamic.
void ReadValueInfo(const onnx::ValueInfoProto& vi, Value* v) {
  if (!vi.type().has_tensor_type()) return;
  const auto& tt = vi.type().tensor_type();
  if (auto dt = FromOnnxType(tt.elem_type())) v->dtype = *dt;
  // The engine computes in FP32: half-precision graph inputs/outputs are fed and read as float.
  if (v->dtype == DType::kF16 || v->dtype == DType::kBF16 || v->dtype == DType::kF64) v->dtype = DType::kF32;
  if (!tt.has_shape()) return;
  v->has_shape = true;
  v->shape.clear();
  for (const auto& d : tt.shape().dim()) v->shape.push_back(d.has_dim_value() ? d.dim_value() : kDynamicDim);
}

class Importer {
 public:
  explicit Importer(std::string context) : context_(std::move(context)) {}

  absl::StatusOr<Graph> Run(const onnx::ModelProto& model) {
    QB_RETURN_IF_ERROR(CheckHeader(model));
    const onnx::GraphProto& g = model.graph();
    graph_.name = g.name();
    for (const auto& init : g.initializer()) {
      QB_ASSIGN_OR_RETURN(Tensor t, TensorFromProto(init, absl::StrCat(context_, ": initializer")));
      Value v;
      v.name = init.name();
      v.dtype = t.dtype();
      v.shape = t.shape();
      v.has_shape = true;
      v.constant = std::move(t);
      Define(std::move(v));
    }
    for (const auto& in : g.input()) {
      if (ids_.count(in.name())) continue;  // IR < 4 lists initializers as inputs too
      if (!in.type().has_tensor_type()) {
        problems_.push_back(absl::StrCat("graph input \"", in.name(),
                                         "\" is not a tensor (sequence, map or optional types are not supported)"));
        continue;
      }
      Value v;
      v.name = in.name();
      ReadValueInfo(in, &v);
      graph_.inputs.push_back(Define(std::move(v)));
    }
    for (int i = 0; i < g.node_size(); ++i) ImportNode(g.node(i), i);
    for (const auto& out : g.output()) {
      auto it = ids_.find(out.name());
      if (it == ids_.end()) {
        problems_.push_back(absl::StrCat("graph output \"", out.name(), "\" is not produced by any node"));
        continue;
      }
      ReadValueInfo(out, &graph_.values[it->second]);
      graph_.outputs.push_back(it->second);
    }
    if (!problems_.empty())
      return absl::UnimplementedError(absl::StrCat(context_, ": the model cannot run (", problems_.size(),
                                                     " problem", problems_.size() > 1 ? "s" : "", "):\n  ",
                                                     absl::StrJoin(problems_, "\n  ")));
    if (graph_.outputs.empty()) return absl::InvalidArgumentError(absl::StrCat(context_, ": the graph has no outputs"));
    return std::move(graph_);
  }

 private:
  absl::Status CheckHeader(const onnx::ModelProto& model) {
    graph_.ir_version = model.ir_version();
    if (model.ir_version() < 3)
      return absl::UnimplementedError(absl::StrCat(context_, ": IR version ", model.ir_version(),
                                                   " is older than 3, the oldest supported"));
    for (const auto& op : model.opset_import()) {
      if (op.domain().empty() || op.domain() == "ai.onnx") graph_.opset = op.version();
      else domains_[op.domain()] = op.version();
    }
    if (graph_.opset == 0) return absl::InvalidArgumentError(absl::StrCat(context_, ": no ai.onnx opset_import"));
    if (graph_.opset < kMinOpset || graph_.opset > kMaxOpset)
      return absl::UnimplementedError(absl::StrCat(context_, ": opset ", graph_.opset, " is outside the supported ",
                                                   kMinOpset, "-", kMaxOpset));
    if (!model.has_graph()) return absl::InvalidArgumentError(absl::StrCat(context_, ": no graph"));
    return absl::OkStatus();
  }

  int Define(Value v) {
    const std::string name = v.name;
    const int id = graph_.AddValue(std::move(v));
    ids_[name] = id;
    return id;
  }

  void ImportNode(const onnx::NodeProto& np, int index) {
    Node node;
    node.op_type = np.op_type();
    node.name = np.name().empty() ? absl::StrCat(np.op_type(), "_", index) : np.name();
    const std::string where = absl::StrCat("node \"", node.name, "\" (", node.op_type, ", opset ", graph_.opset, ")");
    if (!np.domain().empty() && np.domain() != "ai.onnx") {
      problems_.push_back(absl::StrCat(where, ": domain \"", np.domain(), "\" is not supported"));
      return;
    }
    const OpDef* def = FindOp(node.op_type);
    if (def == nullptr) {
      problems_.push_back(absl::StrCat(where, ": op is not supported"));
    } else if (graph_.opset < def->min_opset || graph_.opset > def->max_opset) {
      problems_.push_back(absl::StrCat(where, ": supported for opsets ", def->min_opset, "-", def->max_opset));
    }
    for (const auto& a : np.attribute()) {
      if (def != nullptr) {
        bool known = false;
        for (const AttrSpec& s : def->attributes) known |= s.name == a.name();
        if (!known) {
          problems_.push_back(absl::StrCat(where, ": attribute \"", a.name(), "\" is not supported"));
          continue;
        }
      }
      auto v = ConvertAttribute(a, where);
      if (!v.ok()) {
        problems_.push_back(std::string(v.status().message()));
        continue;
      }
      node.attrs.Set(a.name(), *std::move(v));
    }
    // Ops whose semantics changed across opsets read the model opset from here.
    node.attrs.Set("__opset", static_cast<int64_t>(graph_.opset));
    if (def != nullptr && (np.input_size() < def->min_inputs || np.input_size() > def->max_inputs))
      problems_.push_back(absl::StrCat(where, ": has ", np.input_size(), " inputs, expected ", def->min_inputs, "-",
                                       def->max_inputs));
    for (const auto& in : np.input()) {
      if (in.empty()) {
        node.inputs.push_back(-1);
        continue;
      }
      auto it = ids_.find(in);
      if (it == ids_.end()) {
        problems_.push_back(absl::StrCat(where, ": input \"", in,
                                         "\" is neither a graph input, an initializer nor an earlier node's output"));
        node.inputs.push_back(-1);
        continue;
      }
      node.inputs.push_back(it->second);
    }
    for (const auto& out : np.output()) {
      if (out.empty()) {
        node.outputs.push_back(-1);
        continue;
      }
      if (ids_.count(out)) problems_.push_back(absl::StrCat(where, ": output \"", out, "\" is defined twice"));
      Value v;
      v.name = out;
      v.producer = static_cast<int>(graph_.nodes.size());
      node.outputs.push_back(Define(std::move(v)));
    }
    graph_.nodes.push_back(std::move(node));
  }

  std::string context_;
  Graph graph_;
  std::map<std::string, int> ids_;
  std::map<std::string, int64_t> domains_;
  std::vector<std::string> problems_;
};

}  // namespace

absl::StatusOr<Graph> ImportOnnxModel(const onnx::ModelProto& model, const std::string& context) {
  return Importer(context).Run(model);
}

absl::StatusOr<Graph> ImportOnnxBytes(const std::string& bytes, const std::string& context) {
  onnx::ModelProto model;
  if (bytes.empty()) return absl::InvalidArgumentError(absl::StrCat(context, ": empty file"));
  if (!model.ParseFromString(bytes))
    return absl::InvalidArgumentError(absl::StrCat(context, ": not a valid ONNX model (truncated or corrupt protobuf)"));
  return ImportOnnxModel(model, context);
}

absl::StatusOr<Graph> ImportOnnxFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::stringstream ss;
  ss << f.rdbuf();
  return ImportOnnxBytes(ss.str(), path);
}

}  // namespace qbench
