#include "engine/data/idx.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/data/test_util.h"

namespace qbench::data {
namespace {

using ::testing::HasSubstr;
using test_util::TempDir;

const std::vector<uint8_t> kPixels = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};  // 3 images of 2x2

TEST(IdxTest, ReadsRawAndGzipDetectedByContent) {
  TempDir dir;
  // Names deliberately lie about compression: the content decides.
  test_util::WriteIdx(dir.File("raw.gz"), {3, 2, 2}, kPixels, /*gzip=*/false);
  test_util::WriteIdx(dir.File("packed-ubyte"), {3, 2, 2}, kPixels, /*gzip=*/true);
  for (const char* name : {"raw.gz", "packed-ubyte"}) {
    absl::StatusOr<IdxArray> a = ReadIdx(dir.File(name), 3);
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(a->dims, (std::vector<int64_t>{3, 2, 2}));
    EXPECT_EQ(a->data, kPixels);
  }
}

TEST(IdxTest, TruncatedRawAndGzipFilesAreErrors) {
  TempDir dir;
  test_util::WriteIdx(dir.File("full"), {3, 2, 2}, kPixels, false);
  std::vector<uint8_t> bytes = test_util::ReadBytes(dir.File("full"));
  bytes.resize(bytes.size() - 5);
  test_util::WriteBytes(dir.File("cut"), bytes);
  absl::Status s = ReadIdx(dir.File("cut"), 3).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr(dir.File("cut")));
  EXPECT_THAT(std::string(s.message()), HasSubstr("truncated"));

  std::vector<uint8_t> big(5000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7919 % 251);
  test_util::WriteIdx(dir.File("full.gz"), {50, 10, 10}, big, true);
  std::vector<uint8_t> gz = test_util::ReadBytes(dir.File("full.gz"));
  gz.resize(gz.size() / 2);
  test_util::WriteBytes(dir.File("cut.gz"), gz);
  s = ReadIdx(dir.File("cut.gz"), 3).status();
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr(dir.File("cut.gz")));
  EXPECT_THAT(std::string(s.message()), HasSubstr("truncated"));
}

TEST(IdxTest, WrongRankMagicOrMissingFile) {
  TempDir dir;
  test_util::WriteIdx(dir.File("labels"), {3}, {1, 2, 3}, false);
  absl::Status s = ReadIdx(dir.File("labels"), 3).status();
  // The header is described, its bytes never echoed (a wrong file may hold a secret).
  EXPECT_THAT(std::string(s.message()), HasSubstr("rank is not 3 (images, 0x00000803)"));
  EXPECT_THAT(std::string(s.message()), ::testing::Not(HasSubstr("0x00000801")));
  EXPECT_THAT(std::string(s.message()), HasSubstr(dir.File("labels")));

  test_util::WriteText(dir.File("text"), "P5 not idx");
  s = ReadIdx(dir.File("text"), 1).status();
  EXPECT_THAT(std::string(s.message()), HasSubstr("not an IDX file"));

  s = ReadIdx(dir.File("nope"), 1).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr(dir.File("nope")));
}

}  // namespace
}  // namespace qbench::data
