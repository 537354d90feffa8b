// End-to-end checks on real models: import, optimize, run on oneDNN and on the reference
// backend, and compare; accuracy of the runner against published figures; bad input.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "tests/test_paths.h"
#include "engine/onnx/importer.h"
#include "engine/pipeline/pipeline.h"
#include "engine/runtime/session.h"

namespace qbench {
namespace {

using testing::SharedDir;

std::string SharedModel(const std::string& name) {
  if (SharedDir().empty()) return "";
  return SharedDir() + "/models/" + name;
}

Tensor RandomInput(const Shape& shape, uint32_t seed, float lo, float hi) {
  Tensor t(DType::kF32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

// Runs the model on both backends and checks |a - b| <= 1e-4 * |b| + 1e-5 elementwise.
void ExpectBackendsAgree(const std::string& path, Shape input_shape, float lo, float hi) {
  auto g1 = ImportOnnxFile(path);
  ASSERT_TRUE(g1.ok()) << g1.status();
  Graph g2 = *g1;
  SessionOptions fast, ref;
  ref.backend = Backend::kReference;
  auto s1 = Session::Create(std::move(*g1), fast);
  auto s2 = Session::Create(std::move(g2), ref);
  ASSERT_TRUE(s1.ok()) << s1.status();
  ASSERT_TRUE(s2.ok()) << s2.status();
  Tensor x = RandomInput(input_shape, 7, lo, hi);
  auto y1 = (*s1)->Run({x});
  auto y2 = (*s2)->Run({x});
  ASSERT_TRUE(y1.ok()) << y1.status();
  ASSERT_TRUE(y2.ok()) << y2.status();
  ASSERT_EQ(y1->size(), y2->size());
  for (size_t o = 0; o < y1->size(); ++o) {
    const Tensor& a = (*y1)[o];
    const Tensor& b = (*y2)[o];
    ASSERT_EQ(a.shape(), b.shape());
    int bad = 0;
    for (int64_t i = 0; i < a.num_elements(); ++i) {
      const float va = a.data<float>()[i], vb = b.data<float>()[i];
      if (std::abs(va - vb) > 1e-4f * std::abs(vb) + 1e-5f && ++bad < 5)
        ADD_FAILURE() << "output " << o << " element " << i << ": onednn " << va << " reference " << vb;
    }
    EXPECT_EQ(bad, 0);
  }
  // The oneDNN plan really uses oneDNN for the convolutions, and never its slow ref_ path.
  auto steps = (*s1)->Steps({input_shape});
  ASSERT_TRUE(steps.ok());
  int convs = 0;
  for (const StepInfo& s : *steps) {
    if (s.op_type != "Conv") continue;
    ++convs;
    EXPECT_NE(s.implementation, "reference") << s.node;
    EXPECT_NE(s.implementation.rfind("ref", 0), 0u) << s.node << " uses " << s.implementation;
  }
  EXPECT_GT(convs, 0);
}

TEST(SharedModelTest, Mnist8BackendsAgree) {
  if (SharedDir().empty()) GTEST_SKIP() << "QB_SHARED unset";
  ExpectBackendsAgree(SharedModel("mnist-8.onnx"), {1, 1, 28, 28}, 0.f, 1.f);
}

TEST(SharedModelTest, ResNet20BackendsAgree) {
  if (SharedDir().empty()) GTEST_SKIP() << "QB_SHARED unset";
  ExpectBackendsAgree(SharedModel("resnet20_cifar10_pre.onnx"), {1, 3, 32, 32}, -2.f, 2.f);
}

TEST(SharedModelTest, Mnist8AccuracyMatchesPublished) {
  if (SharedDir().empty()) GTEST_SKIP() << "QB_SHARED unset";
  JobSpec spec;
  spec.model = SharedModel("mnist-8.onnx");
  spec.eval_dataset = testing::SourceDir() + "/bench/datasets/mnist.json";
  spec.batch_sizes = {1};
  spec.latency.min_iters = 3;
  spec.latency.min_seconds = 0;
  spec.latency.warmup_iters = 1;
  spec.latency.warmup_seconds = 0;
  auto r = RunJob(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->configs.size(), 1u);  // fp32 only, the default
  const ConfigResult& fp32 = r->configs[0];
  EXPECT_EQ(fp32.accuracy.samples, 10000);
  // Model Zoo: 98.9% top-1; ONNX Runtime 1.20 gives 9890/10000 on [0,1] input.
  EXPECT_EQ(std::lround(fp32.accuracy.top1 * 10000), 9890);
  ASSERT_EQ(fp32.latency.size(), 1u);
  EXPECT_EQ(fp32.latency[0].stats.count, 3);
}

TEST(ImportErrorTest, TruncatedFileIsReported) {
  if (SharedDir().empty()) GTEST_SKIP() << "QB_SHARED unset";
  std::ifstream f(SharedModel("mnist-8.onnx"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 1000u);
  for (size_t cut : {size_t{10}, bytes.size() / 2, bytes.size() - 7}) {
    auto g = ImportOnnxBytes(bytes.substr(0, cut), "cut.onnx");
    ASSERT_FALSE(g.ok()) << "cut at " << cut;
    EXPECT_NE(std::string(g.status().message()).find("cut.onnx"), std::string::npos) << g.status();
  }
}

TEST(ImportErrorTest, MissingFileAndGarbage) {
  auto g = ImportOnnxFile("/nonexistent/model.onnx");
  ASSERT_FALSE(g.ok());
  EXPECT_TRUE(absl::IsNotFound(g.status()));
  g = ImportOnnxBytes("this is not a protobuf at all \xff\xff\xff", "junk.onnx");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(std::string(g.status().message()).find("junk.onnx"), std::string::npos);
}

TEST(SessionErrorTest, WrongInputShapeIsReported) {
  if (SharedDir().empty()) GTEST_SKIP() << "QB_SHARED unset";
  auto g = ImportOnnxFile(SharedModel("mnist-8.onnx"));
  ASSERT_TRUE(g.ok());
  auto s = Session::Create(std::move(*g), {});
  ASSERT_TRUE(s.ok());
  auto y = (*s)->Run({Tensor(DType::kF32, {1, 1, 27, 28})});
  ASSERT_FALSE(y.ok());
  EXPECT_NE(std::string(y.status().message()).find("Input3"), std::string::npos) << y.status();
  EXPECT_NE(std::string(y.status().message()).find("[1,1,27,28]"), std::string::npos) << y.status();
}

}  // namespace
}  // namespace qbench
