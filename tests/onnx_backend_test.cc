// The ONNX backend node tests (Debian package libonnx-testdata, data/node/test_*): every
// case whose ops we support runs on the oneDNN backend and on the reference backend and
// must match the expected outputs within 1e-4 relative / 1e-5 absolute. Cases our engine
// declines (an attribute, type or output variant outside our scope) are listed with the
// engine's own reason. A table per op is printed.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <fstream>
#include <set>

#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "engine/onnx/importer.h"
#include "engine/onnx/tensor_proto.h"
#include "engine/ops/op_def.h"
#include "engine/runtime/session.h"

namespace qbench {
namespace {

namespace fs = std::filesystem;
const char* kNodeDir = "/usr/share/libonnx-testdata/data/node";

struct CaseResult {
  std::string name;
  enum { kPassed, kFailed, kUnsupported } outcome;
  std::string detail;
};

// Elementwise comparison; integer outputs must be exact.
std::string Compare(const Tensor& got, const Tensor& want) {
  if (got.shape() != want.shape())
    return absl::StrCat("shape ", ShapeToString(got.shape()), " != expected ", ShapeToString(want.shape()));
  Tensor g = got.dtype() == want.dtype() ? got : got.CastTo(want.dtype());
  if (want.dtype() != DType::kF32) {
    if (g.nbytes() != want.nbytes() || std::memcmp(g.raw(), want.raw(), want.nbytes()) != 0)
      return absl::StrCat("integer output differs (", std::string(Name(want.dtype())), ")");
    return "";
  }
  for (int64_t i = 0; i < want.num_elements(); ++i) {
    const float a = g.data<float>()[i], b = want.data<float>()[i];
    if (std::isnan(b) && std::isnan(a)) continue;
    if (std::isinf(b) && a == b) continue;
    if (!(std::abs(a - b) <= 1e-4f * std::abs(b) + 1e-5f))
      return absl::StrCat("element ", i, ": got ", a, ", expected ", b);
  }
  return "";
}

// Runs one case on one backend. Runtime inputs must be float tensors of rank >= 1; other
// inputs (int64 shapes, indices, scalar bounds) are bound as constants, as a model would
// carry them in initializers.
absl::StatusOr<std::string> RunCase(const fs::path& dir, Backend backend) {
  auto graph = ImportOnnxFile((dir / "model.onnx").string());
  if (!graph.ok()) return graph.status();
  std::vector<Tensor> inputs;
  std::vector<int> runtime_inputs;
  for (size_t i = 0; i < graph->inputs.size(); ++i) {
    auto t = ReadTensorProtoFile((dir / "test_data_set_0" / absl::StrCat("input_", i, ".pb")).string());
    if (!t.ok()) return t.status();
    Value& v = graph->values[graph->inputs[i]];
    if (t->dtype() == DType::kF32 && t->rank() >= 1 && !(i > 0 && t->num_elements() <= 1)) {
      inputs.push_back(*t);
      runtime_inputs.push_back(graph->inputs[i]);
    } else {
      v.constant = *t;
      v.dtype = t->dtype();
      v.shape = t->shape();
      v.has_shape = true;
    }
  }
  graph->inputs = runtime_inputs;
  SessionOptions options;
  options.backend = backend;
  auto session = Session::Create(*std::move(graph), options);
  if (!session.ok()) return session.status();
  auto out = (*session)->Run(inputs);
  if (!out.ok()) return out.status();
  for (size_t o = 0; o < out->size(); ++o) {
    auto want = ReadTensorProtoFile((dir / "test_data_set_0" / absl::StrCat("output_", o, ".pb")).string());
    if (!want.ok()) return want.status();
    std::string diff = Compare((*out)[o], *want);
    if (!diff.empty()) return absl::StrCat("output ", o, ": ", diff);
  }
  return std::string();
}

// The op a case tests: the op type of its model's (last) node.
std::string OpForCase(const fs::path& dir) {
  std::ifstream f(dir / "model.onnx", std::ios::binary);
  onnx::ModelProto m;
  if (!m.ParseFromIstream(&f) || m.graph().node_size() == 0) return "";
  return m.graph().node(m.graph().node_size() - 1).op_type();
}

TEST(OnnxBackendNodeTest, SupportedOpsPass) {
  ASSERT_TRUE(fs::is_directory(kNodeDir)) << kNodeDir << " is missing: install libonnx-testdata";
  std::map<std::string, std::vector<CaseResult>> by_op;
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(kNodeDir)) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  for (const fs::path& dir : dirs) {
    const std::string name = dir.filename().string();
    const std::string op = OpForCase(dir);
    if (op.empty() || FindOp(op) == nullptr) continue;  // an op we do not claim
    // Expanded function bodies and cases built from other ops are tested under those ops.
    if (name.find("_expanded") != std::string::npos) continue;
    CaseResult r{name, CaseResult::kPassed, ""};
    for (Backend b : {Backend::kOneDnn, Backend::kReference}) {
      auto s = RunCase(dir, b);
      const char* which = b == Backend::kOneDnn ? "onednn" : "reference";
      if (!s.ok()) {
        // The engine declines with Unimplemented (or an unsupported op/opset/attribute at import).
        const std::string msg(s.status().message());
        const bool declined = absl::IsUnimplemented(s.status()) ||
                              msg.find("not supported") != std::string::npos ||
                              msg.find("supported for opsets") != std::string::npos;
        r.outcome = declined ? CaseResult::kUnsupported : CaseResult::kFailed;
        r.detail = absl::StrCat(which, ": ", msg);
        break;
      }
      if (!s->empty()) {
        r.outcome = CaseResult::kFailed;
        r.detail = absl::StrCat(which, ": ", *s);
        break;
      }
    }
    by_op[op].push_back(r);
  }
  std::printf("\n%-20s %7s %7s %12s\n", "op", "passed", "failed", "unsupported");
  int passed = 0, failed = 0, unsupported = 0;
  for (const auto& [op, cases] : by_op) {
    int p = 0, f = 0, u = 0;
    for (const CaseResult& c : cases) (c.outcome == CaseResult::kPassed ? p : c.outcome == CaseResult::kFailed ? f : u)++;
    std::printf("%-20s %7d %7d %12d\n", op.c_str(), p, f, u);
    passed += p, failed += f, unsupported += u;
  }
  std::printf("%-20s %7d %7d %12d\n\nUnsupported variants (the engine's reason):\n", "total", passed, failed,
              unsupported);
  for (const auto& [op, cases] : by_op)
    for (const CaseResult& c : cases)
      if (c.outcome == CaseResult::kUnsupported) std::printf("  %-50s %s\n", c.name.c_str(), c.detail.c_str());
  for (const auto& [op, cases] : by_op)
    for (const CaseResult& c : cases)
      if (c.outcome == CaseResult::kFailed) ADD_FAILURE() << c.name << " (" << op << "): " << c.detail;
  // Every op in our table has at least one passing backend case.
  for (const OpDef* d : AllOps()) {
    if (d->op_type == "Constant" || d->op_type == "Dropout" || d->op_type == "Identity") continue;
    int p = 0;
    for (const CaseResult& c : by_op[std::string(d->op_type)]) p += c.outcome == CaseResult::kPassed;
    EXPECT_GT(p, 0) << "no passing backend case for " << d->op_type;
  }
}

}  // namespace
}  // namespace qbench
