// Hostile window attributes and oversized plans fail with a reason instead of crashing
// the process (issue 17, finding 5): a Conv with pads=40000 (a 576-byte model) used to
// segfault in oneDNN after an unchecked aligned allocation.
#include <cstdint>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "engine/onnx/importer.h"
#include "engine/runtime/session.h"

namespace qbench {
namespace {

using ::testing::HasSubstr;

void AddInts(onnx::NodeProto* node, const std::string& name, const std::vector<int64_t>& values) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

void AddInt(onnx::NodeProto* node, const std::string& name, int64_t value) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

void SetValueInfo(onnx::ValueInfoProto* v, const std::string& name, const std::vector<int64_t>& dims) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
}

// X [1, channels, size, size] -> one node `op` (named "hostile") -> Y. A Conv gets an
// initializer W [out_channels, channels / group, k, k] of ones.
onnx::ModelProto OneNodeModel(const std::string& op, int64_t channels, int64_t size,
                              const std::function<void(onnx::NodeProto*)>& attrs, int64_t out_channels = 1,
                              int64_t group = 1, int64_t k = 3) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("hostile");
  SetValueInfo(g->add_input(), "X", {1, channels, size, size});
  onnx::NodeProto* n = g->add_node();
  n->set_name("hostile");
  n->set_op_type(op);
  n->add_input("X");
  if (op == "Conv") {
    n->add_input("W");
    onnx::TensorProto* w = g->add_initializer();
    w->set_name("W");
    w->set_data_type(onnx::TensorProto::FLOAT);
    const int64_t in_per_group = std::max<int64_t>(1, channels / std::max<int64_t>(group, 1));
    for (int64_t d : {out_channels, in_per_group, k, k}) w->add_dims(d);
    for (int64_t i = 0; i < out_channels * in_per_group * k * k; ++i) w->add_float_data(1.f);
  }
  n->add_output("Y");
  attrs(n);
  g->add_output()->set_name("Y");
  return m;
}

// Imports the model and runs it once on zeros: the status of whichever step refused it.
absl::Status ImportAndRun(const onnx::ModelProto& m, SessionOptions options = {}) {
  std::string bytes;
  if (!m.SerializeToString(&bytes)) return absl::InternalError("serialize");
  auto graph = ImportOnnxBytes(bytes, "hostile.onnx");
  if (!graph.ok()) return graph.status();
  auto session = Session::Create(*std::move(graph), options);
  if (!session.ok()) return session.status();
  const Shape shape = (*session)->input_shape(0);
  auto out = (*session)->Run({Tensor(DType::kF32, shape)});
  return out.status();
}

TEST(PlanLimitsTest, ConvWithPads40000FailsWithAReason) {
  const onnx::ModelProto m =
      OneNodeModel("Conv", 1, 28, [](onnx::NodeProto* n) { AddInts(n, "pads", {40000, 40000, 40000, 40000}); });
  std::string bytes;
  ASSERT_TRUE(m.SerializeToString(&bytes));
  std::printf("model: %zu bytes\n", bytes.size());
  for (Backend backend : {Backend::kOneDnn, Backend::kReference}) {
    SessionOptions options;
    options.backend = backend;
    options.memory_budget_bytes = int64_t{1} << 30;  // 1 GiB: the output alone is ~25.6 GB
    const absl::Status s = ImportAndRun(m, options);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("\"hostile\"")) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("bytes")) << s;
  }
}

TEST(PlanLimitsTest, WindowAttributesAreRangeCheckedBeforeArithmetic) {
  struct Case {
    const char* what;
    std::string op;
    std::function<void(onnx::NodeProto*)> attrs;
    const char* names;  // the attribute the error must name
  };
  const int64_t huge = int64_t{1} << 62;
  const std::vector<Case> cases = {
      {"conv pads near 2^62", "Conv", [&](onnx::NodeProto* n) { AddInts(n, "pads", {huge, huge, huge, huge}); },
       "pads"},
      {"conv strides near 2^62", "Conv", [&](onnx::NodeProto* n) { AddInts(n, "strides", {huge, huge}); },
       "strides"},
      {"conv dilations near 2^62", "Conv", [&](onnx::NodeProto* n) { AddInts(n, "dilations", {huge, huge}); },
       "dilations"},
      {"maxpool kernel 2^40", "MaxPool",
       [&](onnx::NodeProto* n) { AddInts(n, "kernel_shape", {int64_t{1} << 40, int64_t{1} << 40}); },
       "kernel_shape"},
      {"maxpool dilations 2^40", "MaxPool",
       [&](onnx::NodeProto* n) {
         AddInts(n, "kernel_shape", {2, 2});
         AddInts(n, "dilations", {int64_t{1} << 40, int64_t{1} << 40});
       },
       "dilations"},
      {"averagepool pads near 2^62", "AveragePool",
       [&](onnx::NodeProto* n) {
         AddInts(n, "kernel_shape", {2, 2});
         AddInts(n, "pads", {huge, huge, huge, huge});
       },
       "pads"},
  };
  for (const Case& c : cases) {
    const absl::Status s = ImportAndRun(OneNodeModel(c.op, 1, 28, c.attrs));
    ASSERT_FALSE(s.ok()) << c.what;
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.what << ": " << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.names)) << c.what << ": " << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("hostile")) << c.what << ": " << s;
  }
}

TEST(PlanLimitsTest, ConvGroupIsRangeChecked) {
  // W [0, 4, 3, 3] (no filters) with group 2^62 + 1: 4 x group wraps to 4, X's channel
  // count, in 64 bits, and 0 filters are a multiple of any group.
  onnx::ModelProto m = OneNodeModel("Conv", 4, 8, [](onnx::NodeProto* n) { AddInt(n, "group", (int64_t{1} << 62) + 1); },
                                    /*out_channels=*/0, /*group=*/1);
  const absl::Status s = ImportAndRun(m);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("group")) << s;
}

TEST(PlanLimitsTest, PadOpPadsAreRangeChecked) {
  const int64_t huge = int64_t{1} << 61;  // the padded dims are 2^62 + 4: no overflow, but no tensor either
  onnx::ModelProto m = OneNodeModel("Pad", 1, 4, [&](onnx::NodeProto* n) {});
  m.mutable_opset_import(0)->set_version(2);  // pads as an attribute
  AddInts(m.mutable_graph()->mutable_node(0), "pads", {0, 0, huge, huge, 0, 0, huge, huge});
  const absl::Status s = ImportAndRun(m);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("pads")) << s;
}

// A well-formed model over the budget: refused at plan time naming the biggest node.
TEST(PlanLimitsTest, PlanOverTheMemoryBudgetIsRefusedNamingTheBiggestNode) {
  const onnx::ModelProto m = OneNodeModel("Conv", 8, 64, [](onnx::NodeProto* n) { AddInts(n, "pads", {1, 1, 1, 1}); },
                                          /*out_channels=*/16);
  SessionOptions ok_options;
  ASSERT_TRUE(ImportAndRun(m, ok_options).ok()) << ImportAndRun(m, ok_options);
  for (Backend backend : {Backend::kOneDnn, Backend::kReference}) {
    SessionOptions tight;
    tight.backend = backend;
    tight.memory_budget_bytes = 64 << 10;  // 64 KiB; the output is 16 x 64 x 64 x 4 = 256 KiB
    const absl::Status s = ImportAndRun(m, tight);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("node \"hostile\"")) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("262144 bytes")) << s;
  }
}

TEST(PlanLimitsTest, DefaultBudgetIsHalfOfPhysicalMemory) {
  const int64_t budget = SessionOptions{}.memory_budget_bytes;
  EXPECT_GT(budget, int64_t{64} << 20);
  EXPECT_EQ(budget, PhysicalMemoryBytes() / 2);
  SetDefaultMemoryBudgetBytes(int64_t{3} << 30);
  EXPECT_EQ(SessionOptions{}.memory_budget_bytes, int64_t{3} << 30);
  SetDefaultMemoryBudgetBytes(0);  // back to half of physical memory
  EXPECT_EQ(SessionOptions{}.memory_budget_bytes, budget);
}

}  // namespace
}  // namespace qbench
