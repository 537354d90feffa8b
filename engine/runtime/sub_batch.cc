#include "engine/runtime/sub_batch.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/runtime/session.h"

namespace qbench {
namespace {

// How an op treats dim 0 when every non-constant value has the batch there.
enum class Rule {
  kPerSample,     // computes each sample alone whatever its attributes (Conv, pools, eltwise)
  kBroadcast,     // binary elementwise: per sample unless a constant spans the batch dim
  kAxisNotZero,   // per sample unless its "axis" attribute (default `axis_default`) is 0
  kPermKeeps0,    // Transpose: per sample when perm[0] == 0
  kTransANot,     // Gemm: per sample when A is not transposed and B is a constant
  kRightConst,    // MatMul: per sample when B is a constant
  kKeepsSample,   // reshapes: per sample when each sample keeps its element count
};

struct Row {
  std::string_view op_type;
  Rule rule;
  int64_t axis_default = 1;
};

// Ops not listed here stop sub-batching: unknown is not separable.
constexpr Row kRows[] = {
    {"Conv", Rule::kPerSample},
    {"MaxPool", Rule::kPerSample},
    {"AveragePool", Rule::kPerSample},
    {"GlobalAveragePool", Rule::kPerSample},
    {"Relu", Rule::kPerSample},
    {"LeakyRelu", Rule::kPerSample},
    {"Clip", Rule::kPerSample},
    {"Sigmoid", Rule::kPerSample},
    {"Tanh", Rule::kPerSample},
    {"HardSwish", Rule::kPerSample},
    {"HardSigmoid", Rule::kPerSample},
    {"Identity", Rule::kPerSample},
    {"BatchNormalization", Rule::kPerSample},  // inference: per-channel constants
    {"Add", Rule::kBroadcast},
    {"Sub", Rule::kBroadcast},
    {"Mul", Rule::kBroadcast},
    {"Div", Rule::kBroadcast},
    {"QuantizeLinear", Rule::kPerSample},  // per-tensor or per-channel constants
    {"DequantizeLinear", Rule::kPerSample},
    {"DynamicQuantizeLinear", Rule::kAxisNotZero, 0},  // one scale for the whole tensor
    {"Concat", Rule::kAxisNotZero, 1},
    {"Softmax", Rule::kAxisNotZero, -1},
    {"LogSoftmax", Rule::kAxisNotZero, -1},
    {"Flatten", Rule::kAxisNotZero, 1},
    {"Transpose", Rule::kPermKeeps0},
    {"Gemm", Rule::kTransANot},
    {"MatMul", Rule::kRightConst},
    {"Reshape", Rule::kKeepsSample},
    {"Squeeze", Rule::kKeepsSample},
    {"Unsqueeze", Rule::kKeepsSample},
};

const Row* Find(std::string_view op) {
  for (const Row& r : kRows)
    if (r.op_type == op) return &r;
  return nullptr;
}

// Elements per sample: the product of dims 1..; -1 when not static.
int64_t PerSample(const Shape& s) {
  int64_t n = 1;
  for (size_t d = 1; d < s.size(); ++d) {
    if (s[d] == kDynamicDim) return -1;
    n *= s[d];
  }
  return n;
}

absl::Status NotSeparable(const Node& n, const std::string& why) {
  return absl::FailedPreconditionError(absl::StrCat("node \"", n.name, "\" (", n.op_type, ") ", why));
}

}  // namespace

absl::Status CheckBatchSeparable(const Graph& g) {
  for (int in : g.inputs) {
    const Value& v = g.values[in];
    if (!v.has_shape || v.shape.empty() || v.shape[0] != kDynamicDim || PerSample(v.shape) < 0)
      return absl::FailedPreconditionError(
          absl::StrCat("input \"", v.name, "\" has no dynamic batch dim with static per-sample dims"));
  }
  for (int out : g.outputs) {
    const Value& v = g.values[out];
    if (v.constant || !v.has_shape || v.shape.empty() || v.shape[0] != kDynamicDim)
      return absl::FailedPreconditionError(absl::StrCat("output \"", v.name, "\" does not carry the batch in dim 0"));
  }
  for (const Node& n : g.nodes) {
    const Row* row = Find(n.op_type);
    if (!row) return NotSeparable(n, "is not known to keep samples apart");
    std::vector<int> activations;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const int id = n.inputs[i];
      if (id < 0) continue;
      const Value& v = g.values[id];
      if (v.constant) {
        // A constant as big as the batch along dim 0 would pair rows with samples.
        const Value& out = g.values[n.outputs[0]];
        if (row->rule == Rule::kBroadcast && v.constant->rank() == static_cast<int>(out.shape.size()) &&
            v.constant->rank() > 0 && v.constant->dim(0) != 1)
          return NotSeparable(n, "broadcasts a constant along the batch dim");
        continue;
      }
      activations.push_back(id);
    }
    for (const PostOp& p : n.post_ops)
      if (p.sum_input >= 0) activations.push_back(p.sum_input);
    for (int id : n.outputs) activations.push_back(id);
    for (int id : activations) {
      const Value& v = g.values[id];
      if (!v.has_shape || v.shape.empty() || v.shape[0] != kDynamicDim)
        return NotSeparable(n, absl::StrCat("has value \"", v.name, "\" without the batch in dim 0"));
    }
    switch (row->rule) {
      case Rule::kPerSample:
      case Rule::kBroadcast:
        break;
      case Rule::kAxisNotZero: {
        auto axis = n.attrs.GetInt("axis", row->axis_default);
        if (!axis.ok()) return axis.status();
        const int64_t rank = static_cast<int64_t>(g.values[n.inputs[0]].shape.size());
        if ((*axis < 0 ? *axis + rank : *axis) == 0) return NotSeparable(n, "works along the batch dim");
        break;
      }
      case Rule::kPermKeeps0: {
        auto perm = n.attrs.GetInts("perm", {});
        if (!perm.ok()) return perm.status();
        if (perm->empty() || (*perm)[0] != 0) return NotSeparable(n, "moves the batch dim");
        break;
      }
      case Rule::kTransANot: {
        auto trans_a = n.attrs.GetInt("transA", 0);
        if (!trans_a.ok()) return trans_a.status();
        if (*trans_a != 0) return NotSeparable(n, "transposes its batch operand");
        [[fallthrough]];
      }
      case Rule::kRightConst:
        if (n.inputs.size() < 2 || n.inputs[1] < 0 || !g.values[n.inputs[1]].constant)
          return NotSeparable(n, "multiplies two activations");
        break;
      case Rule::kKeepsSample:
        if (PerSample(g.values[n.inputs[0]].shape) != PerSample(g.values[n.outputs[0]].shape) ||
            PerSample(g.values[n.outputs[0]].shape) < 0)
          return NotSeparable(n, "moves elements between samples");
        break;
    }
  }
  return absl::OkStatus();
}

int64_t SubBatchFor(int64_t n, size_t per_sample_bytes, size_t budget_bytes) {
  if (n <= 1 || per_sample_bytes == 0) return n;
  const int64_t fit = static_cast<int64_t>(budget_bytes / per_sample_bytes);
  if (fit >= n) return n;
  for (int64_t c = std::max<int64_t>(fit, 1); c > 1; --c)
    if (n % c == 0) return c;
  return 1;
}

std::string DescribeSplit(const BatchSplit& b) {
  const double mib = 1.0 / (1 << 20);
  if (b.sub_batch != b.batch) {
    std::string out = absl::StrFormat("batch %d as %d sub-batches of %d", b.batch, b.pieces(), b.sub_batch);
    if (b.budget_bytes > 0)
      absl::StrAppend(&out, absl::StrFormat(" (the largest step touches %.1f MiB of activations per sample; "
                                            "cache budget %.1f MiB)",
                                            b.per_sample_bytes * mib, b.budget_bytes * mib));
    return out;
  }
  std::string out = absl::StrFormat("batch %d in one piece", b.batch);
  if (!b.why.empty()) absl::StrAppend(&out, " (", b.why, ")");
  else if (b.budget_bytes > 0)
    absl::StrAppend(&out, absl::StrFormat(" (%.2f MiB of activations per sample fit the %.1f MiB cache budget)",
                                          b.per_sample_bytes * mib, b.budget_bytes * mib));
  return out;
}

size_t CacheBudgetBytes() {
  // The highest cache index of cpu0 is the last level ("32768K").
  size_t best = 0;
  for (int index = 0; index < 8; ++index) {
    std::ifstream f(absl::StrCat("/sys/devices/system/cpu/cpu0/cache/index", index, "/size"));
    std::string text;
    if (!(f >> text) || text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) continue;
    size_t value = std::stoull(text);
    if (text.back() == 'K') value <<= 10;
    else if (text.back() == 'M') value <<= 20;
    best = std::max(best, value);
  }
  return best > 0 ? best / 2 : size_t{8} << 20;
}

}  // namespace qbench
