#include "spec/manifest.h"

#include <cstdlib>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/data/test_util.h"

namespace qbench::data {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<Manifest> Parse(const std::string& json) { return ParseManifest(json, "/base", "/base/m.json"); }

std::string ErrorOf(const std::string& json) {
  absl::StatusOr<Manifest> m = Parse(json);
  EXPECT_FALSE(m.ok()) << json;
  return m.ok() ? "" : std::string(m.status().message());
}

TEST(ManifestTest, ParsesEveryFieldWithComments) {
  absl::StatusOr<Manifest> m = Parse(R"({
    // comments are allowed
    "name": "imagenet-sample",
    "format": "imagenet",
    "labels": "synset.txt",
    "root": "/data/imgs",
    "limit": 10,
    "preprocess": {
      "resize_shorter": 256, "center_crop": 224, "channels": 3, "scale": 1,
      "mean": [104, 117, 123], "std": [1, 2, 4], "channel_order": "bgr", "layout": "nhwc"
    }
  })");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->name, "imagenet-sample");
  EXPECT_EQ(m->format, DatasetFormat::kImageNet);
  EXPECT_EQ(m->labels, "/base/synset.txt");
  EXPECT_EQ(m->root, "/data/imgs");
  EXPECT_EQ(m->limit, 10);
  const PreprocessConfig& p = m->preprocess;
  EXPECT_EQ(p.resize_shorter, 256);
  EXPECT_EQ(p.center_crop, (Size{224, 224}));
  EXPECT_EQ(p.scale, 1.0);
  EXPECT_EQ(p.mean, (std::vector<double>{104, 117, 123}));
  EXPECT_EQ(p.std, (std::vector<double>{1, 2, 4}));
  EXPECT_EQ(p.channel_order, ChannelOrder::kBgr);
  EXPECT_EQ(p.layout, Layout::kNhwc);
}

TEST(ManifestTest, DefaultsDependOnFormat) {
  absl::StatusOr<Manifest> idx = Parse(R"({"format": "idx", "images": "a/i.gz", "labels": "../l.gz"})");
  ASSERT_TRUE(idx.ok()) << idx.status();
  EXPECT_EQ(idx->images, "/base/a/i.gz");
  EXPECT_EQ(idx->labels, "/l.gz");
  EXPECT_EQ(idx->preprocess.channels, 1);
  EXPECT_DOUBLE_EQ(idx->preprocess.scale, 1.0 / 255);
  EXPECT_EQ(idx->preprocess.layout, Layout::kNchw);
  EXPECT_EQ(idx->preprocess.channel_order, ChannelOrder::kRgb);
  EXPECT_TRUE(idx->preprocess.mean.empty());

  absl::StatusOr<Manifest> folder =
      Parse(R"({"format": "image_folder", "root": "r", "labels": "l.txt", "preprocess": {"resize": [32, 48]}})");
  ASSERT_TRUE(folder.ok()) << folder.status();
  EXPECT_EQ(folder->preprocess.channels, 3);
  EXPECT_EQ(folder->preprocess.resize, (Size{32, 48}));
}

TEST(ManifestTest, ExpandsEnvironmentVariables) {
  setenv("QB_DATA_TEST_ROOT", "/shared", 1);
  absl::StatusOr<Manifest> m =
      Parse(R"({"format": "idx", "images": "${QB_DATA_TEST_ROOT}/x/i.gz", "labels": "${QB_DATA_TEST_ROOT}/l"})");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->images, "/shared/x/i.gz");

  unsetenv("QB_DATA_TEST_UNSET");
  const std::string msg = ErrorOf(R"({"format": "idx", "images": "${QB_DATA_TEST_UNSET}/i", "labels": "l"})");
  EXPECT_THAT(msg, HasSubstr("manifest /base/m.json"));
  EXPECT_THAT(msg, HasSubstr("field \"images\""));
  EXPECT_THAT(msg, HasSubstr("QB_DATA_TEST_UNSET is not set"));
}

TEST(ManifestTest, ErrorsNameTheField) {
  EXPECT_EQ(ErrorOf(R"({"format": "image_folder", "root": "r", "labels": "l",
                        "preprocess": {"mean": [0.5, 0.5]}})"),
            "manifest /base/m.json: field \"preprocess.mean\" must have 3 values (one per channel), got 2");
  EXPECT_THAT(ErrorOf(R"({"format": "idx", "images": "i", "labels": "l", "shuffle": true})"),
              HasSubstr("field \"shuffle\" is not a known key"));
  EXPECT_THAT(ErrorOf(R"({"format": "idx", "images": "i", "labels": "l", "preprocess": {"crop": 3}})"),
              HasSubstr("field \"preprocess.crop\" is not a known key"));
  EXPECT_THAT(ErrorOf(R"({"format": "idx", "images": "i", "labels": "l", "preprocess": {"std": [0]}})"),
              HasSubstr("field \"preprocess.std[0]\" must not be 0"));
  EXPECT_THAT(ErrorOf(R"({"format": "idx", "images": "i", "labels": "l", "preprocess": {"channels": 2}})"),
              HasSubstr("field \"preprocess.channels\" must be 1 or 3, got 2"));
  EXPECT_THAT(ErrorOf(R"({"format": "idx", "images": "i", "labels": "l", "preprocess": {"layout": "chw"}})"),
              HasSubstr("field \"preprocess.layout\" must be one of nchw, nhwc, got \"chw\""));
  EXPECT_THAT(ErrorOf(R"({"format": "idx", "images": "i", "labels": "l",
                          "preprocess": {"resize": [4, 4], "resize_shorter": 4}})"),
              HasSubstr("cannot be combined"));
  EXPECT_THAT(ErrorOf(R"({"format": "idx", "images": "i", "labels": "l", "preprocess": {"resize": 4}})"),
              HasSubstr("field \"preprocess.resize\" must be [height, width]"));
  EXPECT_THAT(ErrorOf(R"({"format": "idx", "images": "i", "labels": "l", "preprocess": {"center_crop": [0, 2]}})"),
              HasSubstr("field \"preprocess.center_crop[0]\" must be in 1..65536, got 0"));
  EXPECT_THAT(ErrorOf(R"({"format": "idx", "images": "i", "labels": "l", "limit": -3})"),
              HasSubstr("field \"limit\""));
  EXPECT_THAT(ErrorOf(R"({"format": "tfrecord", "images": "i", "labels": "l"})"),
              HasSubstr("field \"format\" must be one of idx, image_folder, imagenet, npy, got \"tfrecord\""));
  EXPECT_THAT(ErrorOf(R"({"format": "idx", "root": "r", "images": "i", "labels": "l"})"),
              HasSubstr("field \"root\" is not used by format \"idx\""));
  EXPECT_THAT(ErrorOf(R"({"format": "imagenet", "labels": "l"})"),
              HasSubstr("field \"root\" is required by format \"imagenet\""));
  EXPECT_THAT(ErrorOf(R"({"format": "npy", "images": "i", "labels": "l", "preprocess": {"resize": [2, 2]}})"),
              HasSubstr("field \"preprocess.resize\" is not supported for format \"npy\""));
  EXPECT_THAT(ErrorOf(R"({"format": "idx", "images": 3, "labels": "l"})"),
              HasSubstr("field \"images\" must be a string, got number"));
  EXPECT_THAT(ErrorOf(R"({"format": "idx", "images": "i", "labels": "l",)"),
              HasSubstr("manifest /base/m.json: invalid JSON"));
  EXPECT_THAT(ErrorOf("[]"), HasSubstr("must be a JSON object"));
}

TEST(ManifestTest, ReadManifestResolvesAgainstItsDirectory) {
  test_util::TempDir dir;
  const std::string path = dir.File("sub/m.json");
  test_util::WriteText(path, R"({"format": "npy", "images": "x.npy", "labels": "y.npy"})");
  absl::StatusOr<Manifest> m = ReadManifest(path);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->images, dir.path() + "/sub/x.npy");
  EXPECT_EQ(m->source, "manifest " + path);

  absl::Status missing = ReadManifest(dir.File("nope.json")).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.message()), HasSubstr(dir.File("nope.json")));
}

}  // namespace
}  // namespace qbench::data
