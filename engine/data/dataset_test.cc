// End-to-end: manifests -> datasets -> preprocessed floats, on tiny files written here,
// plus the real Fashion-MNIST test set from the dataset-fashion-mnist Debian package.
#include "engine/data/dataset.h"

#include <cstdlib>
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "engine/data/npy.h"
#include "engine/data/test_util.h"

namespace qbench::data {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::FloatEq;
using ::testing::HasSubstr;
using ::testing::Pointwise;
using test_util::MakeImage;
using test_util::TempDir;

std::unique_ptr<Dataset> Open(const std::string& json, const std::string& base) {
  absl::StatusOr<std::unique_ptr<Dataset>> ds = OpenDatasetFromJson(json, base);
  EXPECT_TRUE(ds.ok()) << ds.status();
  return ds.ok() ? std::move(*ds) : nullptr;
}

std::vector<float> LoadOne(const Dataset& ds, int64_t index) {
  std::vector<float> out(NumElements(ds.sample_shape()), -999.f);
  absl::Status s = ds.Load(index, out.data());
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

std::string ErrorOf(const absl::StatusOr<std::unique_ptr<Dataset>>& ds) {
  EXPECT_FALSE(ds.ok());
  return ds.ok() ? "" : std::string(ds.status().message());
}

// Three 2x2 images, labels 3, 1, 4.
void WriteTinyIdx(const TempDir& dir, bool gzip) {
  test_util::WriteIdx(dir.File("images"), {3, 2, 2}, {0, 51, 102, 255, 255, 102, 51, 0, 1, 2, 3, 4}, gzip);
  test_util::WriteIdx(dir.File("labels"), {3}, {3, 1, 4}, gzip);
}

TEST(IdxDatasetTest, NormalizesWithScaleMeanStd) {
  for (bool gzip : {false, true}) {
    TempDir dir;
    WriteTinyIdx(dir, gzip);
    auto ds = Open(R"({"format": "idx", "images": "images", "labels": "labels",
                       "preprocess": {"mean": [0.5], "std": [0.5]}})", dir.path());
    ASSERT_NE(ds, nullptr);
    EXPECT_EQ(ds->size(), 3);
    EXPECT_EQ(ds->sample_shape(), (Shape{1, 2, 2}));
    EXPECT_EQ(ds->num_classes(), 5);
    EXPECT_EQ(ds->label(2), 4);
    EXPECT_EQ(ds->sample_name(1), "idx:1");
    // (v / 255 - 0.5) / 0.5 = 2v/255 - 1
    EXPECT_THAT(LoadOne(*ds, 0), Pointwise(FloatEq(), {-1.f, -0.6f, -0.2f, 1.f}));
    EXPECT_THAT(LoadOne(*ds, 1), Pointwise(FloatEq(), {1.f, -0.2f, -0.6f, -1.f}));
  }
}

TEST(IdxDatasetTest, ThreeChannelsNhwcAndLimit) {
  TempDir dir;
  WriteTinyIdx(dir, false);
  auto ds = Open(R"({"format": "idx", "images": "images", "labels": "labels", "limit": 2,
                     "preprocess": {"channels": 3, "layout": "nhwc", "scale": 1}})", dir.path());
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->size(), 2);
  EXPECT_EQ(ds->sample_shape(), (Shape{2, 2, 3}));
  EXPECT_THAT(LoadOne(*ds, 1), ElementsAre(255, 255, 255, 102, 102, 102, 51, 51, 51, 0, 0, 0));
  std::vector<float> buf(12);
  EXPECT_EQ(ds->Load(2, buf.data()).code(), absl::StatusCode::kOutOfRange);
}

TEST(IdxDatasetTest, MissingFileAndCountMismatchNameTheFiles) {
  TempDir dir;
  WriteTinyIdx(dir, true);
  std::string msg = ErrorOf(OpenDatasetFromJson(R"({"format": "idx", "images": "nope", "labels": "labels"})",
                                                dir.path()));
  EXPECT_THAT(msg, HasSubstr(dir.path() + "/nope"));
  test_util::WriteIdx(dir.File("labels2"), {2}, {1, 2}, false);
  msg = ErrorOf(OpenDatasetFromJson(R"({"format": "idx", "images": "images", "labels": "labels2"})", dir.path()));
  EXPECT_THAT(msg, HasSubstr("has 3 samples but labels"));
  EXPECT_THAT(msg, HasSubstr(dir.path() + "/labels2"));
}

TEST(LoadBatchTest, ParallelBatchEqualsSingleLoads) {
  TempDir dir;
  WriteTinyIdx(dir, false);
  auto ds = Open(R"({"format": "idx", "images": "images", "labels": "labels"})", dir.path());
  ASSERT_NE(ds, nullptr);
  const std::vector<int64_t> indices = {2, 0, 1, 2, 1};
  absl::StatusOr<Tensor> batch = LoadBatch(*ds, indices, 4);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->shape(), (Shape{5, 1, 2, 2}));
  for (size_t i = 0; i < indices.size(); ++i) {
    std::vector<float> want = LoadOne(*ds, indices[i]);
    std::vector<float> got(batch->data<float>() + i * 4, batch->data<float>() + i * 4 + 4);
    EXPECT_EQ(got, want) << i;
  }
  absl::Status s = LoadBatch(*ds, {0, 1, 7, 9}, 2).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(s.message()), HasSubstr("batch position 2, sample 7"));
}

// cat/a.png is flat (10, 20, 30); cat/b.png has R = 70x, G = 70y, B = 200 on 4x4, which
// the 4 -> 2 resize turns into R = [[50, 160], [50, 160]], G = [[50, 50], [160, 160]]
// (weights 3/7, 3/7, 1/7, see resize_test.cc).
class ImageFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_util::WriteText(dir_.File("classes.txt"), "cat\ndog\n");
    test_util::WritePng(dir_.File("root/cat/b.png"),
                        MakeImage(4, 4, 3, [](int y, int x, int c) { return c == 0 ? 70 * x : c == 1 ? 70 * y : 200; }));
    test_util::WritePng(dir_.File("root/cat/a.png"), MakeImage(4, 4, 3, [](int, int, int c) { return 10 * (c + 1); }));
    test_util::WritePng(dir_.File("root/dog/c.png"), MakeImage(4, 4, 3, [](int, int, int c) { return 90 - 30 * c; }));
    test_util::WriteText(dir_.File("root/cat/notes.txt"), "not an image");
  }
  std::string Manifest(const std::string& preprocess) const {
    return absl::StrCat(R"({"format": "image_folder", "root": "root", "labels": "classes.txt", "preprocess": )",
                        preprocess, "}");
  }
  TempDir dir_;
};

TEST_F(ImageFolderTest, LabelsOrderAndBgrNormalization) {
  auto ds = Open(Manifest(R"({"resize": [2, 2], "scale": 1, "mean": [1, 2, 3], "std": [1, 1, 2],
                              "channel_order": "bgr"})"), dir_.path());
  ASSERT_NE(ds, nullptr);
  ASSERT_EQ(ds->size(), 3);
  EXPECT_EQ(ds->num_classes(), 2);
  EXPECT_EQ(ds->sample_shape(), (Shape{3, 2, 2}));
  EXPECT_EQ(ds->sample_name(0), "cat/a.png");
  EXPECT_EQ(ds->sample_name(1), "cat/b.png");
  EXPECT_EQ(ds->sample_name(2), "dog/c.png");
  EXPECT_THAT((std::vector<int>{ds->label(0), ds->label(1), ds->label(2)}), ElementsAre(0, 0, 1));
  // Output channel 0 is blue with mean 1, std 1; 1 green (2, 1); 2 red (3, 2).
  EXPECT_THAT(LoadOne(*ds, 0), ElementsAre(29, 29, 29, 29, 18, 18, 18, 18, 3.5, 3.5, 3.5, 3.5));
  EXPECT_THAT(LoadOne(*ds, 1), ElementsAre(199, 199, 199, 199, 48, 48, 158, 158, 23.5, 78.5, 23.5, 78.5));
}

TEST_F(ImageFolderTest, NhwcLayoutAndLimit) {
  auto ds = Open(Manifest(R"({"resize": [2, 2], "scale": 1, "layout": "nhwc"})"), dir_.path());
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->sample_shape(), (Shape{2, 2, 3}));
  EXPECT_THAT(LoadOne(*ds, 1), ElementsAre(50, 50, 200, 160, 50, 200, 50, 160, 200, 160, 160, 200));

  absl::StatusOr<std::unique_ptr<Dataset>> limited = OpenDatasetFromJson(
      R"({"format": "image_folder", "root": "root", "labels": "classes.txt", "limit": 1})", dir_.path());
  ASSERT_TRUE(limited.ok()) << limited.status();
  EXPECT_EQ((*limited)->size(), 1);
  EXPECT_EQ((*limited)->sample_shape(), (Shape{3, 4, 4}));  // learned from the first image
}

TEST_F(ImageFolderTest, UnknownSubFolderAndCorruptImageAreNamed) {
  test_util::WriteText(dir_.File("root/bird/x.png"), "");
  EXPECT_THAT(ErrorOf(OpenDatasetFromJson(Manifest("{}"), dir_.path())),
              HasSubstr("sub-folder \"bird\" of root " + dir_.path() + "/root is not a class in labels"));
  std::filesystem::remove_all(dir_.File("root/bird"));

  test_util::WriteBytes(dir_.File("root/dog/d.jpg"), {0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5, 6, 7, 8});
  auto ds = Open(Manifest(R"({"resize": [2, 2]})"), dir_.path());
  ASSERT_NE(ds, nullptr);
  ASSERT_EQ(ds->size(), 4);
  std::vector<float> buf(12);
  absl::Status s = ds->Load(3, buf.data());
  EXPECT_THAT(std::string(s.message()), HasSubstr(dir_.path() + "/root/dog/d.jpg: corrupt JPEG"));
  s = LoadBatch(*ds, {0, 3}, 2).status();
  EXPECT_THAT(std::string(s.message()), HasSubstr("batch position 1, sample 3 (dog/d.jpg)"));
}

TEST_F(ImageFolderTest, CenterCropOffsetsAndGrayToRgb) {
  TempDir dir;
  test_util::WriteText(dir.File("classes.txt"), "only\n");
  test_util::WritePng(dir.File("root/only/g.png"), MakeImage(6, 4, 1, [](int y, int x, int) { return 10 * y + x + 1; }));
  // top = round((4 - 2) / 2) = 1, left = round((6 - 2) / 2) = 2
  auto gray = Open(R"({"format": "image_folder", "root": "root", "labels": "classes.txt",
                       "preprocess": {"center_crop": 2, "channels": 1, "scale": 1}})", dir.path());
  ASSERT_NE(gray, nullptr);
  EXPECT_THAT(LoadOne(*gray, 0), ElementsAre(13, 14, 23, 24));
  auto rgb = Open(R"({"format": "image_folder", "root": "root", "labels": "classes.txt",
                      "preprocess": {"center_crop": [2, 1], "scale": 1}})", dir.path());
  ASSERT_NE(rgb, nullptr);
  EXPECT_THAT(LoadOne(*rgb, 0), ElementsAre(13, 23, 13, 23, 13, 23));  // left = round(2.5) = 2
}

TEST(ImageNetDatasetTest, LabelsFromSynsetSortedByFileName) {
  TempDir dir;
  test_util::WriteText(dir.File("synset.txt"), "n001 tench, Tinca tinca\nn002 goldfish\n");
  test_util::WriteJpeg(dir.File("root/n002_fish.JPEG"), MakeImage(8, 6, 1, [](int, int, int) { return 100; }));
  test_util::WritePng(dir.File("root/n001_y.png"), MakeImage(6, 8, 3, [](int, int, int c) { return 5 + c; }));
  test_util::WriteText(dir.File("root/README.txt"), "skipped");
  auto ds = Open(R"({"format": "imagenet", "root": "root", "labels": "synset.txt",
                     "preprocess": {"resize_shorter": 4, "center_crop": 4, "scale": 1}})", dir.path());
  ASSERT_NE(ds, nullptr);
  ASSERT_EQ(ds->size(), 2);
  EXPECT_EQ(ds->num_classes(), 2);
  EXPECT_EQ(ds->sample_shape(), (Shape{3, 4, 4}));
  EXPECT_EQ(ds->sample_name(0), "n001_y.png");
  EXPECT_EQ(ds->label(0), 0);
  EXPECT_EQ(ds->sample_name(1), "n002_fish.JPEG");
  EXPECT_EQ(ds->label(1), 1);
  std::vector<float> png = LoadOne(*ds, 0);
  EXPECT_EQ(png[0], 5);
  EXPECT_EQ(png[47], 7);
  for (float v : LoadOne(*ds, 1)) EXPECT_NEAR(v, 100, 1);

  test_util::WriteJpeg(dir.File("root/n999_x.jpg"), MakeImage(2, 2, 1, [](int, int, int) { return 0; }));
  EXPECT_THAT(ErrorOf(OpenDatasetFromJson(R"({"format": "imagenet", "root": "root", "labels": "synset.txt"})",
                                          dir.path())),
              HasSubstr("file " + dir.path() + "/root/n999_x.jpg is not named <wnid>_*.JPEG"));
}

TEST(NpyDatasetTest, FloatSamplesWithPerChannelMeanAndUint8DefaultScale) {
  TempDir dir;
  Tensor images(DType::kF32, {4, 3, 2, 2});
  for (int i = 0; i < 48; ++i) images.data<float>()[i] = static_cast<float>(i);
  ASSERT_TRUE(WriteNpy(dir.File("x.npy"), images).ok());
  ASSERT_TRUE(WriteNpy(dir.File("y.npy"), Tensor::FromInt64s({4}, {0, 1, 2, 1})).ok());
  auto ds = Open(R"({"format": "npy", "images": "x.npy", "labels": "y.npy",
                     "preprocess": {"mean": [1, 2, 3], "std": [1, 1, 2]}})", dir.path());
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->sample_shape(), (Shape{3, 2, 2}));
  EXPECT_EQ(ds->num_classes(), 3);
  EXPECT_EQ(ds->sample_name(3), "npy:3");
  // sample 1 holds 12..23; channel c = i / 4
  EXPECT_THAT(LoadOne(*ds, 1), ElementsAre(11, 12, 13, 14, 14, 15, 16, 17, 8.5, 9, 9.5, 10));

  EXPECT_THAT(ErrorOf(OpenDatasetFromJson(R"({"format": "npy", "images": "x.npy", "labels": "y.npy",
                                              "preprocess": {"mean": [1, 2]}})", dir.path())),
              HasSubstr("field \"preprocess.mean\" must have 3 values"));

  Tensor pixels(DType::kU8, {2, 3});
  for (int i = 0; i < 6; ++i) pixels.data<uint8_t>()[i] = static_cast<uint8_t>(51 * i);
  ASSERT_TRUE(WriteNpy(dir.File("u8.npy"), pixels).ok());
  Tensor labels(DType::kU8, {2});
  ASSERT_TRUE(WriteNpy(dir.File("l8.npy"), labels).ok());
  auto u8 = Open(R"({"format": "npy", "images": "u8.npy", "labels": "l8.npy"})", dir.path());
  ASSERT_NE(u8, nullptr);
  EXPECT_THAT(LoadOne(*u8, 1), Pointwise(FloatEq(), {0.6f, 0.8f, 1.0f}));
}

std::string SourceDir() {
  const char* env = std::getenv("QB_SOURCE_DIR");
  if (env != nullptr && *env) return env;
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path().string();
}

// Installed by the dataset-fashion-mnist package (tools/install-deps.sh); a missing file
// is a broken environment, so this fails rather than skips.
TEST(RealDataTest, FashionMnistTestSet) {
  const std::string images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
  ASSERT_TRUE(std::filesystem::exists(images)) << images << " is missing: apt-get install dataset-fashion-mnist";
  const std::string manifest = SourceDir() + "/models/fashion_mnist/dataset.json";
  absl::StatusOr<std::unique_ptr<Dataset>> ds = OpenDataset(manifest);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ((*ds)->size(), 10000);
  EXPECT_EQ((*ds)->sample_shape(), (Shape{1, 28, 28}));
  EXPECT_EQ((*ds)->num_classes(), 10);
  EXPECT_EQ((*ds)->label(0), 9);  // the first test image is an ankle boot
  std::vector<int> per_class(10);
  for (int64_t i = 0; i < (*ds)->size(); ++i) {
    const int label = (*ds)->label(i);
    ASSERT_TRUE(label >= 0 && label < 10) << i;
    ++per_class[label];
  }
  EXPECT_THAT(per_class, ElementsAreArray(std::vector<int>(10, 1000)));
  absl::StatusOr<Tensor> batch = LoadBatch(**ds, {0, 1, 9999}, 2);
  ASSERT_TRUE(batch.ok()) << batch.status();
  for (int64_t i = 0; i < batch->num_elements(); ++i) {
    const float v = batch->data<float>()[i];
    ASSERT_TRUE(v >= (0 - 0.2860f) / 0.3530f - 1e-5f && v <= (1 - 0.2860f) / 0.3530f + 1e-5f) << i;
  }
}

}  // namespace
}  // namespace qbench::data
