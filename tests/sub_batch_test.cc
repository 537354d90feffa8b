// Sub-batching (runtime/sub_batch.h): which graphs may run a batch in pieces, how the
// piece size follows the cache budget, and that pieces give the whole batch's outputs,
// in FP32 and in W8A8, through Run and Profile.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "tests/test_paths.h"
#include "engine/data/dataset.h"
#include "engine/onnx/importer.h"
#include "engine/quant/calibrate.h"
#include "spec/quant_config.h"
#include "engine/quant/quantize_graph.h"
#include "engine/runtime/session.h"
#include "engine/runtime/sub_batch.h"

namespace qbench {
namespace {

using ::testing::HasSubstr;

std::string Fashion(const std::string& file) { return testing::SourceDir() + "/models/fashion_mnist/" + file; }

constexpr size_t kMiB = size_t{1} << 20;

TEST(SubBatchTest, PieceSizeIsTheLargestDivisorThatFits) {
  EXPECT_EQ(SubBatchFor(64, 5.7 * kMiB, 16 * kMiB), 2);   // MobileNetV2 FP32: 2 fit
  EXPECT_EQ(SubBatchFor(64, 1.4 * kMiB, 16 * kMiB), 8);   // 11 fit, 8 divides 64
  EXPECT_EQ(SubBatchFor(64, 100 * 1024, 16 * kMiB), 64);  // everything fits: one piece
  EXPECT_EQ(SubBatchFor(67, 6 * kMiB, 16 * kMiB), 1);     // a prime batch: single samples
  EXPECT_EQ(SubBatchFor(10, 20 * kMiB, 16 * kMiB), 1);    // not even one sample fits
  EXPECT_EQ(SubBatchFor(1, 20 * kMiB, 16 * kMiB), 1);
  EXPECT_EQ(SubBatchFor(48, 0, 16 * kMiB), 48);
  EXPECT_GT(CacheBudgetBytes(), 0u);
}

// The optimized graph of a Fashion model, for the separability checks; unfused keeps
// Relu and Add as nodes of their own.
Graph Optimized(const std::string& model, bool fuse = true) {
  auto g = ImportOnnxFile(Fashion(model));
  EXPECT_TRUE(g.ok()) << g.status();
  SessionOptions o;
  o.fuse = fuse;
  auto s = Session::Create(std::move(*g), o);
  EXPECT_TRUE(s.ok()) << s.status();
  return (*s)->graph();
}

Node& FirstOf(Graph& g, const std::string& op) {
  for (Node& n : g.nodes)
    if (n.op_type == op) return n;
  ADD_FAILURE() << "no " << op;
  return g.nodes.front();
}

TEST(SubBatchTest, SeparabilityNamesTheNodeThatMixesSamples) {
  for (const char* m : {"cnn_bn.onnx", "dwsep.onnx", "resnet.onnx", "mlp.onnx"})
    EXPECT_TRUE(CheckBatchSeparable(Optimized(m)).ok()) << m << ": " << CheckBatchSeparable(Optimized(m));

  Graph gemm = Optimized("mlp.onnx");
  FirstOf(gemm, "Gemm").attrs.Set("transA", int64_t{1});
  absl::Status s = CheckBatchSeparable(gemm);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("(Gemm) transposes its batch operand"));

  Graph fixed = Optimized("cnn_bn.onnx");
  fixed.values[fixed.inputs[0]].shape[0] = 8;
  EXPECT_THAT(std::string(CheckBatchSeparable(fixed).message()), HasSubstr("no dynamic batch dim"));

  // An op outside the table stops it: unknown is not separable.
  Graph unknown = Optimized("cnn_bn.onnx", false);
  EXPECT_TRUE(CheckBatchSeparable(unknown).ok()) << CheckBatchSeparable(unknown);
  FirstOf(unknown, "Relu").op_type = "LRN";
  EXPECT_THAT(std::string(CheckBatchSeparable(unknown).message()), HasSubstr("(LRN) is not known to keep samples"));

  // A constant as long as the batch added to an activation pairs rows with samples.
  Graph add = Optimized("resnet.onnx", false);
  EXPECT_TRUE(CheckBatchSeparable(add).ok()) << CheckBatchSeparable(add);
  Node& a = FirstOf(add, "Add");
  const Shape out = add.values[a.outputs[0]].shape;
  Shape rows = out;
  rows[0] = 4;
  for (size_t d = 1; d < rows.size(); ++d) rows[d] = out[d] == kDynamicDim ? 1 : out[d];
  a.inputs[1] = add.AddConstant("rows", Tensor(DType::kF32, rows));
  EXPECT_THAT(std::string(CheckBatchSeparable(add).message()), HasSubstr("broadcasts a constant along the batch"));
}

// The same batch in one piece and in pieces of 4: the outputs agree (FP32 to rounding,
// since kernels may block a smaller batch differently; W8A8 to one quantization step of
// the logits at most), and Profile sums its steps over the pieces.
void ExpectPiecesAgree(const Graph& graph, const Tensor& x, double tolerance) {
  SessionOptions whole, pieces;
  whole.sub_batch = 0;
  pieces.sub_batch = 4;
  auto a = Session::Create(graph, whole);
  auto b = Session::Create(graph, pieces);
  ASSERT_TRUE(a.ok() && b.ok());
  auto split = (*b)->Split({x.shape()});
  ASSERT_TRUE(split.ok()) << split.status();
  EXPECT_EQ(split->sub_batch, 4);
  EXPECT_EQ(split->pieces(), 4);
  EXPECT_THAT(DescribeSplit(*split), HasSubstr("batch 16 as 4 sub-batches of 4"));
  auto one = (*a)->Split({x.shape()});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->sub_batch, 16);
  EXPECT_THAT(DescribeSplit(*one), HasSubstr("sub-batching is off"));

  auto ya = (*a)->Run({x});
  auto yb = (*b)->Run({x});
  ASSERT_TRUE(ya.ok() && yb.ok()) << ya.status() << yb.status();
  ASSERT_EQ((*ya)[0].shape(), (*yb)[0].shape());
  const float* p = (*ya)[0].data<float>();
  const float* q = (*yb)[0].data<float>();
  double worst = 0;
  for (int64_t i = 0; i < (*ya)[0].num_elements(); ++i) worst = std::max(worst, std::fabs(double(p[i]) - q[i]));
  EXPECT_LE(worst, tolerance);

  auto steps = (*b)->Steps({x.shape()});
  auto prof = (*b)->Profile({x}, 2);
  ASSERT_TRUE(steps.ok() && prof.ok()) << prof.status();
  EXPECT_EQ(prof->size(), steps->size());
}

TEST(SubBatchTest, PiecesGiveTheWholeBatchOutputs) {
  auto train = data::OpenDataset(Fashion("train_dataset.json"));
  ASSERT_TRUE(train.ok()) << train.status();
  std::vector<int64_t> idx(16);
  for (int i = 0; i < 16; ++i) idx[i] = i;
  auto x = data::LoadBatch(**train, idx);
  ASSERT_TRUE(x.ok()) << x.status();
  for (const char* m : {"cnn_bn.onnx", "resnet.onnx"}) {
    SCOPED_TRACE(m);
    Graph g = Optimized(m);
    ExpectPiecesAgree(g, *x, 1e-4);
    auto fp32 = Session::Create(g, SessionOptions{});
    ASSERT_TRUE(fp32.ok());
    auto cal = quant::Calibrate(**fp32, **train, "train", {64, 0, 64, 1});
    ASSERT_TRUE(cal.ok()) << cal.status();
    auto qm = quant::QuantizeGraph(g, *quant::ConfigFromShortName("w8a8"), cal->histograms);
    ASSERT_TRUE(qm.ok()) << qm.status();
    auto int8 = Session::Create(qm->graph, SessionOptions{});
    ASSERT_TRUE(int8.ok());
    ExpectPiecesAgree((*int8)->graph(), *x, 1e-6);
  }
}

// Auto mode keeps a small model's batch whole: its activations fit the cache.
TEST(SubBatchTest, AutoKeepsSmallModelsWhole) {
  Graph g = Optimized("cnn_bn.onnx");
  auto s = Session::Create(g, SessionOptions{});
  ASSERT_TRUE(s.ok());
  auto split = (*s)->Split({{64, 1, 28, 28}});
  ASSERT_TRUE(split.ok()) << split.status();
  EXPECT_EQ(split->sub_batch, 64);
  EXPECT_GT(split->per_sample_bytes, 28u * 28 * 4);
  EXPECT_LT(split->per_sample_bytes, 2 * kMiB);
  EXPECT_THAT(DescribeSplit(*split), HasSubstr("fit the"));
}

}  // namespace
}  // namespace qbench
