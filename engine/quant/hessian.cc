#include "engine/quant/hessian.h"

#include <array>
#include <chrono>
#include <functional>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "oneapi/dnnl/dnnl.h"
#include "engine/ops/conv.h"
#include "engine/passes/rewrite_util.h"
#include "engine/quant/qparams.h"

namespace qbench::quant {
namespace {

// Input rows per product: the im2col buffer holds this many rows of `cols` floats.
constexpr int64_t kRowsPerChunk = 2048;

bool IsGemm(const Node& n) { return n.op_type == "Gemm"; }

// h += P^T P for the `rows` x `cols` row-major patch matrix P (oneDNN's sgemm, whose
// row-major convention reads "T", "N": C[cols, cols] += A^T[cols, rows] B[rows, cols]).
absl::Status AddGram(const float* p, int64_t rows, int64_t cols, float* h) {
  if (rows == 0) return absl::OkStatus();
  if (dnnl_sgemm('T', 'N', cols, cols, rows, 1.f, p, cols, p, cols, 1.f, h, cols) != dnnl_success)
    return absl::InternalError("oneDNN sgemm failed while accumulating a Hessian");
  return absl::OkStatus();
}

// C[cols, cols] += A^T B for two row-aligned `rows` x `cols` matrices.
absl::Status AddCross(const float* a, const float* b, int64_t rows, int64_t cols, float* c) {
  if (rows == 0) return absl::OkStatus();
  if (dnnl_sgemm('T', 'N', cols, cols, rows, 1.f, a, cols, b, cols, 1.f, c, cols) != dnnl_success)
    return absl::InternalError("oneDNN sgemm failed while accumulating a Hessian");
  return absl::OkStatus();
}

void Allocate(const LayerShape& s, bool pair, LayerHessian* h) {
  if (!h->h.empty()) return;
  h->groups = s.groups;
  h->cols = s.cols;
  const size_t n = static_cast<size_t>(s.groups * s.cols * s.cols);
  h->h.assign(n, 0.f);
  if (pair) {
    h->cross.assign(n, 0.f);
    h->h_fp32.assign(n, 0.f);
  }
}

// The input rows of a layer, chunk by chunk: a Gemm's rows as they are, a Conv's im2col
// patches (row = output position, column = (channel of the group, kernel tap)).
class RowSource {
 public:
  static absl::StatusOr<RowSource> Create(const Node& node, const Tensor& w, const Tensor& x, int64_t cols) {
    RowSource r;
    r.cols_ = cols;
    if (IsGemm(node)) {
      if (x.rank() != 2 || x.dim(1) != cols)
        return absl::InvalidArgumentError(absl::StrCat("node \"", node.name, "\": Hessian input has shape ",
                                                       ShapeToString(x.shape()), ", expected [N, ", cols, "]"));
      r.gemm_ = true;
      r.batch_ = 1;
      r.out_sp_ = x.dim(0);
      return r;
    }
    const TensorMeta meta[] = {{DType::kF32, x.shape(), nullptr, true}, {DType::kF32, w.shape(), &w, true}};
    QB_ASSIGN_OR_RETURN(ConvParams p, ParseConv(node, meta));
    const size_t ns = p.in_spatial.size();  // lifted to 3D with unit leading dims
    for (size_t i = 0; i < ns; ++i) {
      const size_t j = 3 - ns + i;
      r.in_[j] = p.in_spatial[i];
      r.out_[j] = p.window.out[i];
      r.k_[j] = p.window.kernel[i];
      r.s_[j] = p.window.strides[i];
      r.d_[j] = p.window.dilations[i];
      r.pb_[j] = p.window.pads_begin[i];
    }
    r.batch_ = p.batch;
    r.channels_ = p.in_channels;
    r.groups_ = p.group;
    r.out_sp_ = r.out_[0] * r.out_[1] * r.out_[2];
    if (p.in_channels / p.group * r.k_[0] * r.k_[1] * r.k_[2] != cols)
      return absl::InvalidArgumentError(absl::StrCat("node \"", node.name, "\": Hessian input does not match W"));
    return r;
  }

  int64_t batch() const { return batch_; }
  int64_t groups() const { return groups_; }
  int64_t rows() const { return out_sp_; }  // per sample and group

  // Rows first..first+count of sample n, group g, into out (count x cols).
  const float* Fill(const float* x, int64_t n, int64_t g, int64_t first, int64_t count, std::vector<float>* buf) const {
    if (gemm_) return x + first * cols_;
    buf->resize(static_cast<size_t>(count * cols_));
    const int64_t cg = channels_ / groups_, in_sp = in_[0] * in_[1] * in_[2];
    for (int64_t r = 0; r < count; ++r) {
      const int64_t o = first + r, o0 = o / (out_[1] * out_[2]), o1 = (o / out_[2]) % out_[1], o2 = o % out_[2];
      float* row = buf->data() + r * cols_;
      for (int64_t c = 0; c < cg; ++c) {
        const float* xp = x + (n * channels_ + g * cg + c) * in_sp;
        for (int64_t k0 = 0; k0 < k_[0]; ++k0) {
          const int64_t i0 = o0 * s_[0] - pb_[0] + k0 * d_[0];
          for (int64_t k1 = 0; k1 < k_[1]; ++k1) {
            const int64_t i1 = o1 * s_[1] - pb_[1] + k1 * d_[1];
            for (int64_t k2 = 0; k2 < k_[2]; ++k2) {
              const int64_t i2 = o2 * s_[2] - pb_[2] + k2 * d_[2];
              const bool inside = i0 >= 0 && i0 < in_[0] && i1 >= 0 && i1 < in_[1] && i2 >= 0 && i2 < in_[2];
              *row++ = inside ? xp[(i0 * in_[1] + i1) * in_[2] + i2] : 0.f;
            }
          }
        }
      }
    }
    return buf->data();
  }

 private:
  bool gemm_ = false;
  int64_t cols_ = 0, batch_ = 1, channels_ = 1, groups_ = 1, out_sp_ = 0;
  std::array<int64_t, 3> in_{1, 1, 1}, out_{1, 1, 1}, k_{1, 1, 1}, s_{1, 1, 1}, d_{1, 1, 1}, pb_{0, 0, 0};
};

// h += X^T X over the layer's input rows in x (xq null), or the sums of
// AccumulateHessianPair.
absl::Status Accumulate(const Node& node, const Tensor& w, const Tensor& x, const Tensor* xq, LayerHessian* h) {
  if (x.dtype() != DType::kF32 || (xq && xq->dtype() != DType::kF32))
    return absl::InvalidArgumentError(absl::StrCat("node \"", node.name, "\": Hessian input is not float32"));
  if (xq && xq->shape() != x.shape())
    return absl::InvalidArgumentError(absl::StrCat("node \"", node.name, "\": quantized input has another shape"));
  Allocate(ShapeOfLayer(node, w), xq != nullptr, h);
  if ((xq != nullptr) != !h->cross.empty())
    return absl::InternalError(absl::StrCat("node \"", node.name, "\": Hessian kinds mixed"));
  QB_ASSIGN_OR_RETURN(RowSource src, RowSource::Create(node, w, x, h->cols));
  const int64_t cols = h->cols, chunk = std::min(kRowsPerChunk, std::max<int64_t>(1, src.rows()));
  std::vector<float> a, b;
  for (int64_t n = 0; n < src.batch(); ++n)
    for (int64_t g = 0; g < src.groups(); ++g) {
      const int64_t at = g * cols * cols;
      for (int64_t first = 0; first < src.rows(); first += chunk) {
        const int64_t count = std::min(chunk, src.rows() - first);
        const float* p = src.Fill(x.data<float>(), n, g, first, count, &a);
        if (!xq) {
          QB_RETURN_IF_ERROR(AddGram(p, count, cols, h->h.data() + at));
          continue;
        }
        const float* pq = src.Fill(xq->data<float>(), n, g, first, count, &b);
        QB_RETURN_IF_ERROR(AddGram(pq, count, cols, h->h.data() + at));
        QB_RETURN_IF_ERROR(AddGram(p, count, cols, h->h_fp32.data() + at));
        QB_RETURN_IF_ERROR(AddCross(p, pq, count, cols, h->cross.data() + at));
      }
    }
  h->rows += src.batch() * src.rows();
  return absl::OkStatus();
}

}  // namespace

LayerShape ShapeOfLayer(const Node& node, const Tensor& w) {
  LayerShape s;
  if (IsGemm(node)) {
    const bool trans_b = node.attrs.GetInt("transB", 0).value_or(0) != 0;
    s.cols = trans_b ? w.dim(1) : w.dim(0);
    s.rows = trans_b ? w.dim(0) : w.dim(1);
    return s;
  }
  s.groups = node.attrs.GetInt("group", 1).value_or(1);
  s.rows = w.dim(0);
  s.cols = w.num_elements() / w.dim(0);
  return s;
}

absl::Status AccumulateHessian(const Node& node, const Tensor& w, const Tensor& x, LayerHessian* h) {
  return Accumulate(node, w, x, nullptr, h);
}

absl::Status AccumulateHessianPair(const Node& node, const Tensor& w, const Tensor& x, const Tensor& xq,
                                   LayerHessian* h) {
  return Accumulate(node, w, x, &xq, h);
}

namespace {

// The layers of `layers` that get a Hessian, by the value they read (node indices); the
// others are recorded in out->skipped with the reason.
std::map<int, std::vector<int>> SelectLayers(const Graph& g, const std::set<int>& layers, HessianSet* out) {
  std::map<int, std::vector<int>> readers;
  int64_t bytes = 0;
  for (int i : layers) {
    if (i < 0 || i >= static_cast<int>(g.nodes.size())) continue;
    const Node& n = g.nodes[i];
    const Tensor* w = ConstantInput(g, n, 1);
    if ((n.op_type != "Conv" && n.op_type != "Gemm") || w == nullptr || w->dtype() != DType::kF32 || w->rank() < 2)
      continue;
    const LayerShape s = ShapeOfLayer(n, *w);
    const int64_t need = s.groups * s.cols * s.cols * static_cast<int64_t>(sizeof(float));
    if (s.cols > kMaxHessianColumns) {
      out->skipped[n.outputs[0]] = absl::StrCat(s.cols, " inputs per output, over the ", kMaxHessianColumns,
                                                " that rounding factorizes");
    } else if (bytes + need > kMaxHessianBytes) {
      out->skipped[n.outputs[0]] = absl::StrCat("the model's Hessians would pass ", kMaxHessianBytes >> 20, " MiB");
    } else {
      bytes += need;
      readers[n.inputs[0]].push_back(i);
    }
  }
  return readers;
}

// Runs fn on each batch of the samples `indices` (a fixed-batch model's short last batch
// padded with repeats of its own samples, as calibration does).
absl::Status ForEachBatch(Session& session, const data::Dataset& dataset, const std::vector<int64_t>& indices,
                          int64_t batch_size, int loader_threads,
                          const std::function<absl::Status(const Tensor&)>& fn) {
  const Shape declared = session.input_shape(0);
  const bool fixed_batch = !declared.empty() && declared[0] != kDynamicDim;
  const int64_t batch = fixed_batch ? declared[0] : std::max<int64_t>(1, batch_size);
  const int64_t n = static_cast<int64_t>(indices.size());
  for (int64_t first = 0; first < n; first += batch) {
    const int64_t count = std::min(batch, n - first);
    std::vector<int64_t> idx(indices.begin() + first, indices.begin() + first + count);
    for (size_t i = 0; fixed_batch && static_cast<int64_t>(idx.size()) < batch; ++i) idx.push_back(idx[i]);
    QB_ASSIGN_OR_RETURN(Tensor x, data::LoadBatch(dataset, idx, loader_threads));
    absl::Status s = fn(x);
    if (!s.ok()) return Annotate(s, absl::StrCat("Hessian pass, samples ", first, "..", first + count - 1));
  }
  return absl::OkStatus();
}

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

absl::StatusOr<HessianSet> CollectHessians(Session& session, const data::Dataset& dataset,
                                           const std::vector<int64_t>& indices, int64_t batch_size,
                                           int loader_threads, const std::set<int>& layers) {
  const auto t0 = std::chrono::steady_clock::now();
  const Graph& g = session.graph();
  HessianSet out;
  const std::map<int, std::vector<int>> readers = SelectLayers(g, layers, &out);
  ValueObserver observe = [&](int v, const Tensor& t) -> absl::Status {
    auto it = readers.find(v);
    if (it == readers.end()) return absl::OkStatus();
    for (int i : it->second) {
      const Node& n = g.nodes[i];
      QB_RETURN_IF_ERROR(AccumulateHessian(n, *ConstantInput(g, n, 1), t, &out.layers[n.outputs[0]]));
    }
    return absl::OkStatus();
  };
  if (!readers.empty())
    QB_RETURN_IF_ERROR(ForEachBatch(session, dataset, indices, batch_size, loader_threads,
                                    [&](const Tensor& x) { return session.Run({x}, &observe).status(); }));
  out.seconds = SecondsSince(t0);
  return out;
}

absl::StatusOr<HessianSet> CollectQuantizedInputHessians(Session& session, Session& quantized,
                                                         const std::map<int, int>& twins,
                                                         const std::map<int, QuantParams>& params,
                                                         const data::Dataset& dataset,
                                                         const std::vector<int64_t>& indices, int64_t batch_size,
                                                         int loader_threads, const std::set<int>& layers) {
  const auto t0 = std::chrono::steady_clock::now();
  const Graph& g = session.graph();
  HessianSet out;
  const std::map<int, std::vector<int>> readers = SelectLayers(g, layers, &out);
  std::map<int, Tensor> fp32_inputs;  // this batch's FP32 input of each layer, by value id
  ValueObserver keep = [&](int v, const Tensor& t) -> absl::Status {
    if (readers.count(v)) fp32_inputs[v] = t.Clone();
    return absl::OkStatus();
  };
  // The quantized model's layers read the integer twin of their FP32 input value.
  ValueObserver pair = [&](int v, const Tensor& t) -> absl::Status {
    auto tw = twins.find(v);
    if (tw == twins.end()) return absl::OkStatus();
    auto it = readers.find(tw->second);
    auto x = fp32_inputs.find(tw->second);
    auto p = params.find(tw->second);
    if (it == readers.end() || x == fp32_inputs.end() || p == params.end()) return absl::OkStatus();
    QB_ASSIGN_OR_RETURN(Tensor xq, DequantizeTensor(t, p->second));
    for (int i : it->second) {
      const Node& n = g.nodes[i];
      QB_RETURN_IF_ERROR(
          AccumulateHessianPair(n, *ConstantInput(g, n, 1), x->second, xq, &out.layers[n.outputs[0]]));
    }
    return absl::OkStatus();
  };
  if (!readers.empty())
    QB_RETURN_IF_ERROR(ForEachBatch(session, dataset, indices, batch_size, loader_threads, [&](const Tensor& x) {
      fp32_inputs.clear();
      QB_RETURN_IF_ERROR(session.Run({x}, &keep).status());
      return quantized.Run({x}, &pair).status();
    }));
  // A layer whose quantized input was never seen (it reads a float value) gets none.
  for (const auto& [v, nodes] : readers)
    for (int i : nodes) {
      const int id = g.nodes[i].outputs[0];
      auto it = out.layers.find(id);
      if (it != out.layers.end() && it->second.rows > 0) continue;
      out.layers.erase(id);
      out.skipped[id] = "the quantized model does not feed this layer a quantized input";
    }
  out.seconds = SecondsSince(t0);
  return out;
}

}  // namespace qbench::quant
