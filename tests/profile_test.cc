// Session::Profile: per-step timing of a planned run, FP32 and quantized (W8A8).
#include <gtest/gtest.h>

#include "tests/test_paths.h"
#include "engine/data/dataset.h"
#include "engine/onnx/importer.h"
#include "engine/quant/calibrate.h"
#include "spec/quant_config.h"
#include "engine/quant/quantize_graph.h"
#include "engine/runtime/session.h"

namespace qbench {
namespace {

std::string Fashion(const std::string& file) { return testing::SourceDir() + "/models/fashion_mnist/" + file; }

void ExpectProfile(Session& session, const Tensor& x) {
  auto steps = session.Steps({x.shape()});
  ASSERT_TRUE(steps.ok()) << steps.status();
  auto timings = session.Profile({x}, 5);
  ASSERT_TRUE(timings.ok()) << timings.status();
  ASSERT_EQ(timings->size(), steps->size());
  double share = 0;
  for (size_t i = 0; i < timings->size(); ++i) {
    const StepTiming& t = (*timings)[i];
    EXPECT_EQ(t.info.node, (*steps)[i].node);
    EXPECT_EQ(t.info.implementation, (*steps)[i].implementation);
    EXPECT_GT(t.median_ms, 0) << t.info.node;
    EXPECT_GT(t.share, 0) << t.info.node;
    share += t.share;
  }
  EXPECT_NEAR(share, 1.0, 1e-9);
  // Profiling leaves the plan usable by Run.
  EXPECT_TRUE(session.Run({x}).ok());
}

TEST(ProfileTest, Fp32AndW8a8StepsAreTimed) {
  auto g = ImportOnnxFile(Fashion("cnn_bn.onnx"));
  ASSERT_TRUE(g.ok()) << g.status();
  auto fp32 = Session::Create(std::move(*g), SessionOptions{});
  ASSERT_TRUE(fp32.ok()) << fp32.status();
  auto train = data::OpenDataset(Fashion("train_dataset.json"));
  ASSERT_TRUE(train.ok()) << train.status();
  auto x = data::LoadBatch(**train, {0, 1, 2, 3, 4, 5, 6, 7});
  ASSERT_TRUE(x.ok()) << x.status();
  ExpectProfile(**fp32, *x);

  auto cal = quant::Calibrate(**fp32, **train, "train", {64, 0, 64, 1});
  ASSERT_TRUE(cal.ok()) << cal.status();
  auto config = quant::ConfigFromShortName("w8a8");
  ASSERT_TRUE(config.ok());
  auto qm = quant::QuantizeGraph((*fp32)->graph(), *config, cal->histograms);
  ASSERT_TRUE(qm.ok()) << qm.status();
  auto int8 = Session::Create(qm->graph, SessionOptions{});
  ASSERT_TRUE(int8.ok()) << int8.status();
  ExpectProfile(**int8, *x);
}

TEST(ProfileTest, RejectsBadArguments) {
  auto g = ImportOnnxFile(Fashion("mlp.onnx"));
  ASSERT_TRUE(g.ok()) << g.status();
  auto s = Session::Create(std::move(*g), SessionOptions{});
  ASSERT_TRUE(s.ok());
  Tensor x(DType::kF32, {1, 1, 28, 28});
  EXPECT_TRUE(absl::IsInvalidArgument((*s)->Profile({x}, 0).status()));
  EXPECT_TRUE(absl::IsInvalidArgument((*s)->Profile({}, 3).status()));
}

}  // namespace
}  // namespace qbench
