// What a team's data can reach on a worker (issue 17, findings 2, 3 and 7, data side),
// through the worker's real AssetCache and the engine's real dataset readers:
//   - a manifest inside an uploaded archive never expands ${NAME} (the worker's
//     environment holds the database password) and its failure reasons carry no value;
//   - it may only name files inside its own extracted folder (real paths: no absolute
//     paths, no "..", no symlinks out), so no other file's bytes or folder names reach an
//     error; shared paths only inside --shared-root, never into the cache, regular files
//     only (a FIFO would hang the worker, /dev/zero would eat its memory);
//   - archives are bounded (size, expansion ratio) before extraction, and the cache evicts
//     the least recently used entries beyond its size limit, never a pinned one.
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "client/tar.h"
#include "common/sha256.h"
#include "worker/daemon/asset_cache.h"
#include "engine/data/dataset.h"
#include "engine/data/test_util.h"

namespace qbench {
namespace {

namespace fs = std::filesystem;
using data::test_util::TempDir;
using data::test_util::WriteText;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "s3cr3t-pg-password-7f1c";
constexpr char kTokenBytes[] = "qbt_0123456789abcdef-admin-token";

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A dataset archive holding `files` (name -> bytes); gzip-compressed when `gzip`.
std::string MakeArchive(const TempDir& dir, const std::string& name,
                        const std::vector<std::pair<std::string, std::string>>& files, bool gzip = false) {
  const std::string tar_path = dir.File(name + ".tar");
  auto w = client::TarWriter::Create(tar_path);
  EXPECT_TRUE(w.ok()) << w.status();
  for (const auto& [n, bytes] : files) EXPECT_TRUE((*w)->AddBytes(n, bytes).ok());
  EXPECT_TRUE((*w)->Finish().ok());
  if (!gzip) return tar_path;
  const std::string gz_path = dir.File(name + ".tar.gz");
  gzFile gz = gzopen(gz_path.c_str(), "wb9");
  const std::string raw = ReadAll(tar_path);
  gzwrite(gz, raw.data(), static_cast<unsigned>(raw.size()));
  gzclose(gz);
  return gz_path;
}

store::AssetRef BlobAsset(const std::string& path) {
  const std::string bytes = ReadAll(path);
  store::AssetRef a;
  a.blob_sha256 = Sha256Raw(bytes);
  a.blob_size = static_cast<int64_t>(bytes.size());
  a.blob_path = path;  // no server: the cache copies the blob store's file
  return a;
}

store::AssetRef PathAsset(const std::string& path) {
  store::AssetRef a;
  a.path = path;
  return a;
}

// The worker's path from an uploaded archive to an open dataset: what a job's failure
// reason (jobs.error) would say.
absl::Status OpenUploaded(worker::AssetCache& cache, const std::string& archive) {
  absl::StatusOr<std::string> manifest = cache.DatasetManifest(BlobAsset(archive), "eval_dataset");
  if (!manifest.ok()) return manifest.status();
  return data::OpenDataset(*manifest).status();
}

class DataSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("QB_H4_SECRET", kSecret, 1);
    // A file the worker can read that no team may: the admin token beside the cache.
    secret_file_ = outside_.File("admin.token");
    WriteText(secret_file_, kTokenBytes);
    fs::create_directories(outside_.File("private/team-a-models"));
  }

  TempDir cache_dir_, outside_, uploads_;
  std::string secret_file_;
};

TEST_F(DataSecurityTest, ArchiveManifestDoesNotExpandTheWorkersEnvironment) {
  worker::AssetCache cache(cache_dir_.path(), std::nullopt);
  const std::string archive = MakeArchive(
      uploads_, "env", {{"dataset.json", R"({"format": "idx", "images": "${QB_H4_SECRET}/x", "labels": "l"})"}});
  const absl::Status s = OpenUploaded(cache, archive);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr(kSecret))) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("images"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("not expanded"));
}

TEST_F(DataSecurityTest, ArchiveManifestCannotNameFilesOutsideItsFolder) {
  worker::AssetCache cache(cache_dir_.path(), std::nullopt);
  // Absolute, "..", and a path through the cache to another archive's folder.
  for (const std::string& images :
       {secret_file_, std::string("../../../../../../../../..") + secret_file_, std::string("/./") + secret_file_}) {
    const std::string archive = MakeArchive(
        uploads_, "abs", {{"dataset.json", R"({"format": "idx", "images": ")" + images + R"(", "labels": "l"})"},
                          {"l", "x"}});
    const absl::Status s = OpenUploaded(cache, archive);
    ASSERT_FALSE(s.ok()) << images;
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
    EXPECT_THAT(std::string(s.message()), Not(HasSubstr("qbt_"))) << s;
    EXPECT_THAT(std::string(s.message()), Not(HasSubstr(outside_.path()))) << s;
    fs::remove_all(cache_dir_.path() + "/datasets");
  }
  // An image folder rooted outside: no listing of the worker's folders in the error.
  const std::string archive = MakeArchive(
      uploads_, "root", {{"dataset.json", R"({"format": "image_folder", "root": ")" + outside_.path() +
                                              R"(/private", "labels": "classes.txt"})"},
                         {"classes.txt", "cat\n"}});
  const absl::Status s = OpenUploaded(cache, archive);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("team-a-models"))) << s;
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr(outside_.path()))) << s;
}

TEST_F(DataSecurityTest, ArchiveErrorsDoNotShowTheCachePath) {
  worker::AssetCache cache(cache_dir_.path(), std::nullopt);
  const std::string archive = MakeArchive(
      uploads_, "bad", {{"dataset.json", R"({"format": "idx", "images": "i.idx", "labels": "l.idx"})"},
                        {"i.idx", "not an idx file"},
                        {"l.idx", "nor this"}});
  const absl::Status s = OpenUploaded(cache, archive);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("i.idx"));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr(cache_dir_.path()))) << s;
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("not an idx file"))) << s;
}

TEST_F(DataSecurityTest, SharedPathsStayInsideTheRootsAndAreRegularFiles) {
  TempDir root;
  WriteText(root.File("m.onnx"), "model");
  ASSERT_EQ(::symlink(secret_file_.c_str(), root.File("link.onnx").c_str()), 0);
  ASSERT_EQ(::mkfifo(root.File("fifo.onnx").c_str(), 0644), 0);
  worker::AssetCache cache(cache_dir_.path(), std::nullopt, std::vector<std::string>{root.path()});

  absl::StatusOr<std::string> ok = cache.ModelPath(PathAsset(root.File("m.onnx")), "model");
  ASSERT_TRUE(ok.ok()) << ok.status();
  for (const std::string& p : {secret_file_, "/./" + secret_file_, root.path() + "/../" + fs::path(secret_file_).parent_path().filename().string() + "/admin.token",
                               root.File("link.onnx"), std::string("/etc/passwd")}) {
    absl::StatusOr<std::string> r = cache.ModelPath(PathAsset(p), "model");
    ASSERT_FALSE(r.ok()) << p;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied) << p << ": " << r.status();
    EXPECT_THAT(std::string(r.status().message()), Not(HasSubstr(p)));
  }
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::string> fifo = cache.ModelPath(PathAsset(root.File("fifo.onnx")), "model");
  EXPECT_FALSE(fifo.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(DataSecurityTest, SharedPathsNeverPointIntoTheCache) {
  worker::AssetCache cache(cache_dir_.path(), std::nullopt);
  const std::string archive = MakeArchive(uploads_, "m", {{"model.onnx", "another team's model"}});
  absl::StatusOr<std::string> blob = cache.ModelPath(BlobAsset(archive), "model");
  ASSERT_TRUE(blob.ok()) << blob.status();
  // Another team names the cached file by path instead of proving it holds the blob.
  absl::StatusOr<std::string> r = cache.ModelPath(PathAsset(*blob), "model");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied) << r.status();
  absl::Status d = worker::AssetCache::CheckSharedPath(*blob, "model");
  EXPECT_EQ(d.code(), absl::StatusCode::kPermissionDenied) << d;
}

TEST_F(DataSecurityTest, DevicesAndFifosAreNotDatasets) {
  TempDir dir;
  ASSERT_EQ(::mkfifo(dir.File("labels.npy").c_str(), 0644), 0);
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& images : {std::string("/dev/zero"), dir.File("labels.npy")}) {
    auto ds = data::OpenDatasetFromJson(
        R"({"format": "npy", "images": ")" + images + R"(", "labels": ")" + dir.File("labels.npy") + R"("})",
        dir.path());
    ASSERT_FALSE(ds.ok());
    EXPECT_EQ(ds.status().code(), absl::StatusCode::kInvalidArgument) << ds.status();
    EXPECT_THAT(std::string(ds.status().message()), HasSubstr("not a regular file"));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(DataSecurityTest, ArchivesAreBoundedBeforeExtraction) {
  worker::AssetCache cache(cache_dir_.path(), std::nullopt);
  // 32 MiB of zeros gzip to ~32 KB: a ratio of ~1000.
  const std::string bomb = MakeArchive(
      uploads_, "bomb",
      {{"dataset.json", R"({"format": "npy", "images": "z.npy", "labels": "z.npy"})"}, {"z.npy", std::string(32 << 20, '\0')}},
      /*gzip=*/true);
  ASSERT_LT(fs::file_size(bomb), 1u << 20);
  absl::StatusOr<std::string> m = cache.DatasetManifest(BlobAsset(bomb), "eval_dataset");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kResourceExhausted) << m.status();
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("times its"));
  EXPECT_TRUE(fs::is_empty(cache_dir_.path() + "/datasets") ||
              !fs::exists(cache_dir_.path() + "/datasets/" + HexEncode(*BlobAsset(bomb).blob_sha256)));
  for (const auto& e : fs::directory_iterator(cache_dir_.path() + "/datasets"))
    EXPECT_FALSE(e.is_directory()) << e.path() << " extracted";

  worker::AssetCacheLimits small;
  small.max_archive_bytes = 1 << 20;
  TempDir other;
  worker::AssetCache capped(other.path(), std::nullopt, std::nullopt, small);
  const std::string big = MakeArchive(uploads_, "big", {{"dataset.json", "{}"}, {"x", std::string(2 << 20, 'x')}});
  m = capped.DatasetManifest(BlobAsset(big), "eval_dataset");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kResourceExhausted) << m.status();
}

TEST_F(DataSecurityTest, CacheEvictsLeastRecentlyUsedBeyondItsLimit) {
  worker::AssetCacheLimits limits;
  limits.max_cache_bytes = 5 << 20;
  worker::AssetCache cache(cache_dir_.path(), std::nullopt, std::nullopt, limits);
  std::vector<std::string> cached;
  for (int i = 0; i < 3; ++i) {
    const std::string path = uploads_.File("blob" + std::to_string(i));
    WriteText(path, std::string(2 << 20, static_cast<char>('a' + i)));
    absl::StatusOr<std::string> c = cache.ModelPath(BlobAsset(path), "model");
    ASSERT_TRUE(c.ok()) << c.status();
    cached.push_back(*c);
    // Distinct use times (file systems with coarse timestamps).
    const auto t = fs::file_time_type::clock::now() - std::chrono::minutes(10 - i);
    fs::last_write_time(*c, t);
  }
  // All three are pinned by the "job" that fetched them: nothing may go.
  EXPECT_EQ(cache.Evict(), 6 << 20);
  for (const std::string& c : cached) EXPECT_TRUE(fs::exists(c)) << c;
  cache.ReleasePins();
  // Use the oldest again: the middle one is now the least recently used.
  ASSERT_TRUE(cache.ModelPath(BlobAsset(uploads_.File("blob0")), "model").ok());
  cache.ReleasePins();
  EXPECT_LE(cache.Evict(), 5 << 20);
  EXPECT_TRUE(fs::exists(cached[0]));
  EXPECT_FALSE(fs::exists(cached[1]));
  EXPECT_TRUE(fs::exists(cached[2]));
  // An evicted blob is fetched again when needed.
  absl::StatusOr<std::string> again = cache.ModelPath(BlobAsset(uploads_.File("blob1")), "model");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(fs::exists(*again));
}

}  // namespace
}  // namespace qbench
