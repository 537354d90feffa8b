// Writes the seed corpora under fuzz/corpus/<target>/ (run once by hand; the outputs are
// committed): small valid inputs of each format made with the project's own writers
// (libpng, libjpeg, zlib, our NPY, IDX, ustar and ONNX protobuf code), plus a few
// hostile ones. Usage: make_seeds OUT_DIR (normally fuzz/corpus).
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <png.h>

#include "client/tar.h"
#include "onnx/onnx_pb.h"
#include "engine/core/tensor.h"
#include "engine/data/npy.h"
#include "engine/data/test_util.h"

namespace {

namespace fs = std::filesystem;
namespace tu = qbench::data::test_util;
fs::path g_out;

void Put(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(g_out / target);
  std::ofstream(g_out / target / name, std::ios::binary) << bytes;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string Gzip(const std::string& raw) {
  const fs::path tmp = g_out / ".gz.tmp";
  gzFile gz = gzopen(tmp.c_str(), "wb9");
  gzwrite(gz, raw.data(), static_cast<unsigned>(raw.size()));
  gzclose(gz);
  std::string out = Slurp(tmp);
  fs::remove(tmp);
  return out;
}

// ---- ONNX --------------------------------------------------------------------------

onnx::ValueInfoProto Value(const std::string& name, std::vector<int64_t> dims) {
  onnx::ValueInfoProto v;
  v.set_name(name);
  auto* t = v.mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
  return v;
}

onnx::TensorProto Init(const std::string& name, std::vector<int64_t> dims, int elem = onnx::TensorProto::FLOAT) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(elem);
  int64_t n = 1;
  for (int64_t d : dims) {
    t.add_dims(d);
    n *= d;
  }
  for (int64_t i = 0; i < n; ++i) {
    if (elem == onnx::TensorProto::INT64) t.add_int64_data(i % 3 - 1);
    else t.add_float_data(0.25f * static_cast<float>(i % 7) - 0.5f);
  }
  return t;
}

onnx::NodeProto Node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out) {
  onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(op + "_" + out[0]);
  for (auto& s : in) n.add_input(s);
  for (auto& s : out) n.add_output(s);
  return n;
}

void IntsAttr(onnx::NodeProto& n, const std::string& name, std::vector<int64_t> v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

std::string Model(onnx::GraphProto g, int opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(opset);
  m.set_producer_name("qbench-fuzz-seeds");
  *m.mutable_graph() = std::move(g);
  return m.SerializeAsString();
}

void OnnxSeeds() {
  {  // Relu
    onnx::GraphProto g;
    g.set_name("relu");
    *g.add_input() = Value("x", {1, 4});
    *g.add_output() = Value("y", {1, 4});
    *g.add_node() = Node("Relu", {"x"}, {"y"});
    Put("onnx_import", "relu.onnx", Model(g));
  }
  {  // Conv + BatchNorm + Relu + MaxPool + Flatten + Gemm + Softmax: a tiny CNN
    onnx::GraphProto g;
    g.set_name("cnn");
    *g.add_input() = Value("x", {1, 1, 6, 6});
    *g.add_output() = Value("p", {1, 3});
    *g.add_initializer() = Init("w", {2, 1, 3, 3});
    *g.add_initializer() = Init("b", {2});
    for (const char* s : {"scale", "bias", "mean"}) *g.add_initializer() = Init(s, {2});
    onnx::TensorProto var = Init("var", {2});
    var.clear_float_data();
    var.add_float_data(1);
    var.add_float_data(2);
    *g.add_initializer() = var;
    *g.add_initializer() = Init("fw", {3, 8});
    *g.add_initializer() = Init("fb", {3});
    onnx::NodeProto conv = Node("Conv", {"x", "w", "b"}, {"c"});
    IntsAttr(conv, "kernel_shape", {3, 3});
    IntsAttr(conv, "pads", {0, 0, 0, 0});
    *g.add_node() = conv;
    *g.add_node() = Node("BatchNormalization", {"c", "scale", "bias", "mean", "var"}, {"n"});
    *g.add_node() = Node("Relu", {"n"}, {"r"});
    onnx::NodeProto pool = Node("MaxPool", {"r"}, {"m"});
    IntsAttr(pool, "kernel_shape", {2, 2});
    IntsAttr(pool, "strides", {2, 2});
    *g.add_node() = pool;
    *g.add_node() = Node("Flatten", {"m"}, {"f"});
    onnx::NodeProto gemm = Node("Gemm", {"f", "fw", "fb"}, {"l"});
    auto* t = gemm.add_attribute();
    t->set_name("transB");
    t->set_type(onnx::AttributeProto::INT);
    t->set_i(1);
    *g.add_node() = gemm;
    *g.add_node() = Node("Softmax", {"l"}, {"p"});
    Put("onnx_import", "cnn.onnx", Model(g));
  }
  {  // Add with broadcast, Reshape by a shape initializer, Transpose, Concat
    onnx::GraphProto g;
    g.set_name("tensor");
    *g.add_input() = Value("x", {2, 3});
    *g.add_output() = Value("z", {6, 2});
    *g.add_initializer() = Init("k", {3});
    onnx::TensorProto shape = Init("shape", {2}, onnx::TensorProto::INT64);
    shape.clear_int64_data();
    shape.add_int64_data(3);
    shape.add_int64_data(2);
    *g.add_initializer() = shape;
    *g.add_node() = Node("Add", {"x", "k"}, {"a"});
    *g.add_node() = Node("Reshape", {"a", "shape"}, {"r"});
    *g.add_node() = Node("Concat", {"r", "r"}, {"z"});
    auto* axis = g.mutable_node(2)->add_attribute();
    axis->set_name("axis");
    axis->set_type(onnx::AttributeProto::INT);
    axis->set_i(0);
    Put("onnx_import", "tensor.onnx", Model(g));
  }
  {  // issue 17 finding 5's shape: a Conv with huge pads (import must not allocate it)
    onnx::GraphProto g;
    g.set_name("pads");
    *g.add_input() = Value("x", {1, 1, 4, 4});
    *g.add_output() = Value("y", {1, 1, 80002, 80002});
    *g.add_initializer() = Init("w", {1, 1, 1, 1});
    onnx::NodeProto conv = Node("Conv", {"x", "w"}, {"y"});
    IntsAttr(conv, "pads", {40000, 40000, 40000, 40000});
    *g.add_node() = conv;
    Put("onnx_import", "conv_pads_40000.onnx", Model(g));
  }
  Put("onnx_import", "empty.onnx", "");
}

// ---- images, IDX, NPY --------------------------------------------------------------

void ImageSeeds() {
  const fs::path tmp = g_out / ".img.tmp";
  auto img = tu::MakeImage(8, 6, 3, [](int y, int x, int c) { return (y * 40 + x * 20 + c * 70) % 256; });
  auto gray = tu::MakeImage(5, 7, 1, [](int y, int x, int) { return y * 30 + x; });
  tu::WriteJpeg(tmp, img, 90);
  Put("jpeg", "rgb_8x6.jpg", Slurp(tmp));
  tu::WriteJpeg(tmp, gray, 75);
  Put("jpeg", "gray_5x7.jpg", Slurp(tmp));
  std::vector<uint8_t> cmyk(4 * 4 * 4);
  for (size_t i = 0; i < cmyk.size(); ++i) cmyk[i] = static_cast<uint8_t>(i * 13);
  tu::WriteJpeg(tmp, 4, 4, 4, cmyk, 80);
  Put("jpeg", "cmyk_4x4.jpg", Slurp(tmp));
  const std::string full = Slurp(g_out / "jpeg" / "rgb_8x6.jpg");
  Put("jpeg", "truncated.jpg", full.substr(0, full.size() / 2));

  tu::WritePng(tmp, img);
  Put("png", "rgb_8x6.png", Slurp(tmp));
  tu::WritePng(tmp, gray);
  Put("png", "gray_5x7.png", Slurp(tmp));
  tu::WritePng(tmp, 3, 2, PNG_COLOR_TYPE_PALETTE, 8, {0, 1, 2, 2, 1, 0}, {255, 0, 0, 0, 255, 0, 0, 0, 255});
  Put("png", "palette_3x2.png", Slurp(tmp));
  tu::WritePng(tmp, 2, 2, PNG_COLOR_TYPE_RGB_ALPHA, 16,
               {0, 1000, 2000, 65535, 3, 4, 5, 6, 60000, 50000, 40000, 30000, 7, 8, 9, 10});
  Put("png", "rgba16_2x2.png", Slurp(tmp));
  tu::WritePng(tmp, 4, 1, PNG_COLOR_TYPE_GRAY, 1, {0, 1, 1, 0});
  Put("png", "gray1_4x1.png", Slurp(tmp));

  tu::WriteIdx(tmp, {3, 2, 2}, {0, 51, 102, 255, 255, 102, 51, 0, 1, 2, 3, 4}, false);
  Put("idx", "images_3x2x2.idx", Slurp(tmp));
  tu::WriteIdx(tmp, {3, 2, 2}, {0, 51, 102, 255, 255, 102, 51, 0, 1, 2, 3, 4}, true);
  Put("idx", "images_3x2x2.idx.gz", Slurp(tmp));
  tu::WriteIdx(tmp, {3}, {3, 1, 4}, false);
  Put("idx", "labels_3.idx", Slurp(tmp));
  Put("idx", "huge_dims.idx", std::string("\0\0\x08\x03\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x10", 16));
  Put("idx", "gzip_bomb.idx.gz", Gzip(std::string("\0\0\x08\x01\x01\x00\x00\x00", 8) + std::string(1 << 20, '\0')));

  using qbench::DType;
  using qbench::Tensor;
  Tensor f(DType::kF32, {2, 3});
  for (int i = 0; i < 6; ++i) f.data<float>()[i] = 0.5f * static_cast<float>(i);
  (void)qbench::data::WriteNpy(tmp, f);
  Put("npy", "f32_2x3.npy", Slurp(tmp));
  Tensor u(DType::kU8, {2, 2, 2, 1});
  for (int i = 0; i < 8; ++i) u.data<uint8_t>()[i] = static_cast<uint8_t>(i * 30);
  (void)qbench::data::WriteNpy(tmp, u);
  Put("npy", "u8_2x2x2x1.npy", Slurp(tmp));
  Tensor l(DType::kS64, {3});
  for (int i = 0; i < 3; ++i) l.data<int64_t>()[i] = i;
  (void)qbench::data::WriteNpy(tmp, l);
  Put("npy", "s64_3.npy", Slurp(tmp));
  std::string hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }";
  hdr.append(64 - (10 + hdr.size() + 1) % 64, ' ');
  hdr.push_back('\n');
  Put("npy", "huge_shape.npy", std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(hdr.size() & 0xff) +
                                    static_cast<char>(hdr.size() >> 8) + hdr);
  fs::remove(tmp);
}

// ---- manifests -----------------------------------------------------------------------

void ManifestSeeds() {
  Put("manifest", "idx.json", R"({"name": "mnist", "format": "idx", "images": "i.gz", "labels": "l.gz",
  "limit": 100, "preprocess": {"channels": 1, "scale": 0.00392156862745098, "layout": "nchw"}})");
  Put("manifest", "imagenet.json", R"({
    // comments are allowed
    "format": "imagenet", "labels": "synset.txt", "root": "/data/imgs",
    "preprocess": {"resize_shorter": 256, "center_crop": 224, "channels": 3, "scale": 1,
                   "mean": [104, 117, 123], "std": [1, 2, 4], "channel_order": "bgr", "layout": "nhwc"}})");
  Put("manifest", "folder.json",
      R"({"format": "image_folder", "root": "r", "labels": "l.txt", "preprocess": {"resize": [32, 48]}})");
  Put("manifest", "npy.json", R"({"format": "npy", "images": "x.npy", "labels": "y.npy",
  "preprocess": {"scale": 2.5, "mean": [0.5], "std": [0.25], "layout": "nhwc"}})");
  Put("manifest", "env.json", R"({"format": "idx", "images": "${PGPASSWORD}/x", "labels": "${HOME}/l"})");
  Put("manifest", "escape.json", R"({"format": "idx", "images": "/./etc/./passwd", "labels": "../../../../etc/shadow"})");
  Put("manifest", "deep.json", std::string(200, '[') + std::string(200, ']'));
  Put("manifest", "numbers.json", R"({"format": "idx", "images": "i", "labels": "l", "limit": 1e400,
  "preprocess": {"center_crop": [18446744073709551615, -1], "mean": [1e308, -1e308]}})");
}

// ---- tar -----------------------------------------------------------------------------

void TarSeeds() {
  const fs::path tmp = g_out / ".tar.tmp";
  {
    auto w = qbench::client::TarWriter::Create(tmp);
    (void)(*w)->AddDirectory("data/");
    (void)(*w)->AddBytes("dataset.json", R"({"format": "npy", "images": "data/x.npy", "labels": "data/y.npy"})");
    (void)(*w)->AddBytes("data/x.npy", Slurp(g_out / "npy" / "f32_2x3.npy"));
    (void)(*w)->AddBytes("data/y.npy", Slurp(g_out / "npy" / "s64_3.npy"));
    (void)(*w)->Finish();
  }
  const std::string plain = Slurp(tmp);
  Put("tar", "dataset.tar", plain);
  Put("tar", "dataset.tar.gz", Gzip(plain));
  {
    auto w = qbench::client::TarWriter::Create(tmp);
    (void)(*w)->AddBytes(std::string(120, 'd') + "/" + std::string(90, 'f'), "long ustar name");
    (void)(*w)->Finish();
  }
  Put("tar", "long_name.tar", Slurp(tmp));
  // GNU long name, a pax header (path and size), a symlink and "..": all must be handled.
  auto block = [](const std::string& data) {
    return data + std::string((512 - data.size() % 512) % 512, '\0');
  };
  std::string gnu = *qbench::client::UstarHeader("././@LongLink", 'L', 20, 0644) + block("gnu/long/name/file\0\0") +
                    *qbench::client::UstarHeader("x", '0', 3, 0644) + block("abc");
  const std::string pax_rec = "27 path=pax/given/name.txt\n";
  gnu += *qbench::client::UstarHeader("pax", 'x', static_cast<int64_t>(pax_rec.size()), 0644) + block(pax_rec) +
         *qbench::client::UstarHeader("y", '0', 2, 0644) + block("hi");
  gnu += *qbench::client::UstarHeader("link", '2', 0, 0777, "/etc/passwd");
  Put("tar", "gnu_pax_link.tar", gnu + std::string(1024, '\0'));
  Put("tar", "dotdot.tar", *qbench::client::UstarHeader("../escape.txt", '0', 2, 0644) + block("no") +
                               std::string(1024, '\0'));
  fs::remove(tmp);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds OUT_DIR\n");
    return 2;
  }
  g_out = argv[1];
  fs::create_directories(g_out);
  OnnxSeeds();
  ImageSeeds();
  ManifestSeeds();
  TarSeeds();
  std::printf("seeds written under %s\n", g_out.c_str());
  return 0;
}
