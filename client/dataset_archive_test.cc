// Dataset archives: pack -> extract -> open gives the same samples; packing is
// deterministic; extraction refuses entries that would escape the folder or are not
// plain files and folders; interoperates with the system's tar.
#include "client/dataset_archive.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "client/tar.h"
#include "engine/data/dataset.h"
#include "engine/data/test_util.h"

namespace qbench::client {
namespace {

namespace fs = std::filesystem;
using data::test_util::ReadBytes;
using data::test_util::TempDir;
using data::test_util::WriteText;
using ::testing::HasSubstr;

std::string Message(const absl::Status& s) { return std::string(s.message()); }

// Every sample of both datasets: same count, shape, labels and floats.
void ExpectSameSamples(const std::string& manifest_a, const std::string& manifest_b) {
  auto a = data::OpenDataset(manifest_a);
  auto b = data::OpenDataset(manifest_b);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ((*a)->size(), (*b)->size());
  ASSERT_GT((*a)->size(), 0);
  EXPECT_EQ((*a)->sample_shape(), (*b)->sample_shape());
  EXPECT_EQ((*a)->num_classes(), (*b)->num_classes());
  for (int64_t i = 0; i < (*a)->size(); ++i) {
    EXPECT_EQ((*a)->label(i), (*b)->label(i)) << i;
    EXPECT_EQ((*a)->sample_name(i), (*b)->sample_name(i)) << i;
    auto ta = data::LoadBatch(**a, {i});
    auto tb = data::LoadBatch(**b, {i});
    ASSERT_TRUE(ta.ok() && tb.ok());
    ASSERT_EQ(ta->num_elements(), tb->num_elements());
    EXPECT_EQ(std::memcmp(ta->data<float>(), tb->data<float>(), ta->num_elements() * sizeof(float)), 0) << i;
  }
}

// An IDX dataset whose manifest uses ${VAR}, relative paths, a comment and preprocess.
std::string WriteIdxDataset(const TempDir& dir) {
  data::test_util::WriteIdx(dir.File("raw/imgs.idx.gz"), {4, 3, 3},
                            {0, 10, 20, 30, 40, 50, 60, 70, 80, 1, 2, 3, 4, 5, 6, 7, 8, 9, 255, 254, 253, 252, 251,
                             250, 249, 248, 247, 9, 8, 7, 6, 5, 4, 3, 2, 1},
                            /*gzip=*/true);
  data::test_util::WriteIdx(dir.File("other/labels.idx"), {4}, {2, 0, 1, 2}, false);
  setenv("QB_ARCHIVE_TEST_DIR", (dir.path() + "/raw").c_str(), 1);
  const std::string manifest = dir.File("sets/mini.json");
  WriteText(manifest, R"({
    // a comment, as manifests allow
    "name": "mini", "format": "idx",
    "images": "${QB_ARCHIVE_TEST_DIR}/imgs.idx.gz",
    "labels": "../other/labels.idx",
    "limit": 3,
    "preprocess": {"mean": [0.5], "std": [0.25]}
  })");
  return manifest;
}

TEST(DatasetArchiveTest, IdxRoundTripKeepsSamplesAndSettings) {
  TempDir dir;
  const std::string manifest = WriteIdxDataset(dir);
  const std::string tar = dir.File("mini.tar");
  ASSERT_TRUE(PackDataset(manifest, tar).ok());
  absl::Status s = ExtractArchive(tar, dir.path() + "/out");
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(fs::is_regular_file(dir.path() + "/out/data/imgs.idx.gz"));
  EXPECT_TRUE(fs::is_regular_file(dir.path() + "/out/data/labels.idx"));
  const auto bytes = ReadBytes(dir.path() + "/out/dataset.json");
  const std::string text(bytes.begin(), bytes.end());
  EXPECT_THAT(text, HasSubstr("\"images\": \"data/imgs.idx.gz\""));
  EXPECT_THAT(text, HasSubstr("\"limit\": 3"));  // other fields kept
  ExpectSameSamples(manifest, dir.path() + "/out/dataset.json");
}

TEST(DatasetArchiveTest, ImageFolderRootIsPackedRecursively) {
  TempDir dir;
  using data::test_util::MakeImage;
  WriteText(dir.File("classes.txt"), "cat\ndog\n");
  data::test_util::WritePng(dir.File("root/cat/a.png"), MakeImage(4, 4, 3, [](int y, int x, int c) { return 10 * y + x + c; }));
  data::test_util::WritePng(dir.File("root/cat/deeper/b.png"), MakeImage(4, 4, 3, [](int, int x, int) { return 7 * x; }));
  data::test_util::WritePng(dir.File("root/dog/c.png"), MakeImage(4, 4, 3, [](int y, int, int c) { return 90 - y - c; }));
  const std::string manifest = dir.File("folder.json");
  WriteText(manifest, R"({"format": "image_folder", "root": "root/", "labels": "classes.txt"})");
  ASSERT_TRUE(PackDataset(manifest, dir.File("f.tar")).ok());
  ASSERT_TRUE(ExtractArchive(dir.File("f.tar"), dir.path() + "/x").ok());
  EXPECT_TRUE(fs::is_regular_file(dir.path() + "/x/data/root/cat/deeper/b.png"));
  ExpectSameSamples(manifest, dir.path() + "/x/dataset.json");
}

TEST(DatasetArchiveTest, PackingIsDeterministic) {
  TempDir dir;
  const std::string manifest = WriteIdxDataset(dir);
  ASSERT_TRUE(PackDataset(manifest, dir.File("a.tar")).ok());
  // A newer mtime on the inputs must not change the archive.
  fs::last_write_time(dir.path() + "/other/labels.idx", fs::file_time_type::clock::now());
  ASSERT_TRUE(PackDataset(manifest, dir.File("b.tar")).ok());
  const auto a = ReadBytes(dir.File("a.tar")), b = ReadBytes(dir.File("b.tar"));
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size() % 512, 0u);
}

TEST(DatasetArchiveTest, ErrorsNameTheManifestAndField) {
  TempDir dir;
  WriteText(dir.File("labels"), "x");
  WriteText(dir.File("m.json"), R"({"format": "image_folder", "root": "labels", "labels": "labels"})");
  absl::Status s = PackDataset(dir.path() + "/m.json", dir.File("o.tar"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr(dir.path() + "/m.json"));
  EXPECT_THAT(Message(s), HasSubstr("\"root\""));
  EXPECT_THAT(Message(s), HasSubstr("is not a folder"));
  EXPECT_FALSE(fs::exists(dir.path() + "/o.tar"));
}

// A one-entry tar written by hand (not with our writer) to test the reader's checks.
std::string HandMadeTar(const std::string& name, char type, const std::string& data,
                        const std::string& link = "") {
  std::string h(512, '\0');
  std::memcpy(&h[0], name.data(), name.size());
  std::snprintf(&h[100], 8, "%07o", 0644);
  std::snprintf(&h[108], 8, "%07o", 0);
  std::snprintf(&h[116], 8, "%07o", 0);
  std::snprintf(&h[124], 12, "%011o", static_cast<unsigned>(data.size()));
  std::snprintf(&h[136], 12, "%011o", 0);
  h[156] = type;
  std::memcpy(&h[157], link.data(), link.size());
  std::memcpy(&h[257], "ustar", 6);
  std::memcpy(&h[263], "00", 2);
  std::memset(&h[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(&h[148], 8, "%06o", sum);
  std::string body = data + std::string((512 - data.size() % 512) % 512, '\0');
  return h + body + std::string(1024, '\0');
}

TEST(DatasetArchiveTest, ExtractRejectsEscapesLinksAndDevicesNamingTheEntry) {
  TempDir dir;
  struct Case {
    std::string name;
    char type;
    std::string link, why;
  };
  const Case cases[] = {
      {"../x", '0', "", "\"..\" is not allowed"},
      {"data/../../y", '0', "", "\"..\" is not allowed"},
      {"/etc/qbench-x", '0', "", "absolute paths are not allowed"},
      {"data/link", '2', "/etc/passwd", "symbolic links are not allowed"},
      {"data/hard", '1', "dataset.json", "links are not allowed"},
      {"data/dev", '3', "", "devices"},
  };
  for (const Case& c : cases) {
    const std::string tar = dir.File("bad.tar");
    WriteText(tar, HandMadeTar(c.name, c.type, c.type == '0' ? "evil" : "", c.link));
    absl::Status s = ExtractArchive(tar, dir.path() + "/out");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(Message(s), HasSubstr("entry \"" + c.name + "\"")) << s;
    EXPECT_THAT(Message(s), HasSubstr(c.why)) << s;
  }
  EXPECT_FALSE(fs::exists(dir.path() + "/x"));
  EXPECT_FALSE(fs::exists(dir.path() + "/y"));
  EXPECT_FALSE(fs::exists("/etc/qbench-x"));
}

TEST(DatasetArchiveTest, ExtractRejectsCorruptAndTruncatedArchives) {
  TempDir dir;
  std::string tar = HandMadeTar("a.txt", '0', std::string(1000, 'a'));
  std::string bad = tar;
  bad[0] = 'b';  // the checksum no longer matches
  WriteText(dir.File("bad.tar"), bad);
  EXPECT_THAT(Message(ExtractArchive(dir.File("bad.tar"), dir.path() + "/o")), HasSubstr("bad header checksum"));
  WriteText(dir.File("short.tar"), tar.substr(0, 700));
  EXPECT_THAT(Message(ExtractArchive(dir.File("short.tar"), dir.path() + "/o")), HasSubstr("truncated"));
}

TEST(DatasetArchiveTest, LongNamesUseTheUstarPrefix) {
  TempDir dir;
  const std::string long_name = "data/" + std::string(80, 'd') + "/" + std::string(90, 'f') + ".bin";
  WriteText(dir.File("src.bin"), "payload");
  {
    auto w = TarWriter::Create(dir.File("long.tar"));
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->AddFile(long_name, dir.path() + "/src.bin").ok());
    EXPECT_EQ((*w)->AddBytes(std::string(300, 'x'), "y").code(), absl::StatusCode::kInvalidArgument);
    ASSERT_TRUE((*w)->Finish().ok());
  }
  ASSERT_TRUE(ExtractArchive(dir.File("long.tar"), dir.path() + "/o").ok());
  EXPECT_EQ(ReadBytes(dir.path() + "/o/" + long_name), ReadBytes(dir.path() + "/src.bin"));
}

// GNU tar, if installed, must read our archives, and we must read its gzip'd ones.
TEST(DatasetArchiveTest, InteroperatesWithSystemTar) {
  if (std::system("tar --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "no tar on PATH";
  TempDir dir;
  const std::string manifest = WriteIdxDataset(dir);
  ASSERT_TRUE(PackDataset(manifest, dir.File("ours.tar")).ok());
  const std::string list = dir.File("list.txt");
  ASSERT_EQ(std::system(absl::StrCat("tar -tf ", dir.path(), "/ours.tar > ", list).c_str()), 0);
  std::ifstream in(list);
  std::string entries((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(entries, "data/\ndata/imgs.idx.gz\ndata/labels.idx\ndataset.json\n");

  WriteText(dir.File("theirs/a/b.txt"), "hello");
  WriteText(dir.File("theirs/c.txt"), "world");
  ASSERT_EQ(std::system(absl::StrCat("tar -czf ", dir.path(), "/theirs.tgz -C ", dir.path(), "/theirs .").c_str()), 0);
  absl::Status s = ExtractArchive(dir.File("theirs.tgz"), dir.path() + "/back");
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(ReadBytes(dir.path() + "/back/a/b.txt"), ReadBytes(dir.path() + "/theirs/a/b.txt"));
  EXPECT_EQ(ReadBytes(dir.path() + "/back/c.txt"), ReadBytes(dir.path() + "/theirs/c.txt"));
}

}  // namespace
}  // namespace qbench::client
