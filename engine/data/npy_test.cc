#include "engine/data/npy.h"

#include <cstring>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/data/test_util.h"

namespace qbench::data {
namespace {

using ::testing::HasSubstr;
using test_util::TempDir;

template <class T>
Tensor Iota(const Shape& shape, T start) {
  Tensor t(DTypeOf<T>::value, shape);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<T>()[i] = static_cast<T>(start + static_cast<T>(i));
  return t;
}

// The bytes numpy 1.24 writes for np.save(f, np.arange(6, dtype='<f4').reshape(2, 3)).
std::vector<uint8_t> NumpyFile() {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  header.append(128 - 10 - header.size() - 1, ' ');  // data starts at byte 128
  header += '\n';
  std::vector<uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<uint8_t>(header.size()), 0};
  b.insert(b.end(), header.begin(), header.end());
  for (int i = 0; i < 6; ++i) {
    float f = static_cast<float>(i);
    uint8_t raw[4];
    std::memcpy(raw, &f, 4);
    b.insert(b.end(), raw, raw + 4);
  }
  return b;
}

TEST(NpyTest, RoundTripsEveryDtype) {
  TempDir dir;
  const std::vector<Tensor> tensors = {Iota<float>({2, 3, 4}, -1.5f), Iota<uint8_t>({5}, 250),
                                       Iota<int8_t>({2, 2}, -128), Iota<int32_t>({1, 1, 3}, -70000),
                                       Iota<int64_t>({3}, int64_t{1} << 40), Iota<float>({}, 3.25f),
                                       Iota<float>({0, 4}, 0.f)};
  for (size_t i = 0; i < tensors.size(); ++i) {
    const std::string path = dir.File("t" + std::to_string(i) + ".npy");
    ASSERT_TRUE(WriteNpy(path, tensors[i]).ok());
    // numpy aligns the data to 64 bytes; the header length says where the data starts.
    std::vector<uint8_t> bytes = test_util::ReadBytes(path);
    EXPECT_EQ((10 + bytes[8] + 256 * bytes[9]) % 64, 0);
    absl::StatusOr<Tensor> back = ReadNpy(path);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->dtype(), tensors[i].dtype()) << i;
    EXPECT_EQ(back->shape(), tensors[i].shape()) << i;
    ASSERT_EQ(back->nbytes(), tensors[i].nbytes());
    EXPECT_EQ(std::memcmp(back->raw(), tensors[i].raw(), back->nbytes()), 0) << i;
  }
}

TEST(NpyTest, ReadsNumpyBytesAndWritesTheSame) {
  TempDir dir;
  test_util::WriteBytes(dir.File("np.npy"), NumpyFile());
  absl::StatusOr<Tensor> t = ReadNpy(dir.File("np.npy"));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->shape(), (Shape{2, 3}));
  EXPECT_EQ(t->data<float>()[5], 5.f);
  ASSERT_TRUE(WriteNpy(dir.File("ours.npy"), *t).ok());
  EXPECT_EQ(test_util::ReadBytes(dir.File("ours.npy")), NumpyFile());
}

TEST(NpyTest, ReadsVersionTwoHeader) {
  TempDir dir;
  std::vector<uint8_t> v1 = NumpyFile();
  std::vector<uint8_t> v2 = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 118, 0, 0, 0};
  v2.insert(v2.end(), v1.begin() + 10, v1.end());
  test_util::WriteBytes(dir.File("v2.npy"), v2);
  absl::StatusOr<Tensor> t = ReadNpy(dir.File("v2.npy"));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->data<float>()[4], 4.f);
}

TEST(NpyTest, RejectsFortranOrderBigEndianTruncationAndUnsupportedWrites) {
  TempDir dir;
  auto with_header_edit = [&](const std::string& from, const std::string& to, const std::string& name) {
    std::vector<uint8_t> b = NumpyFile();
    std::string s(b.begin(), b.end());
    s.replace(s.find(from), from.size(), to);
    test_util::WriteBytes(dir.File(name), std::vector<uint8_t>(s.begin(), s.end()));
    return std::string(ReadNpy(dir.File(name)).status().message());
  };
  std::string msg = with_header_edit("False", "True ", "f.npy");
  EXPECT_THAT(msg, HasSubstr("fortran_order"));
  EXPECT_THAT(msg, HasSubstr(dir.File("f.npy")));
  msg = with_header_edit("<f4", ">f4", "be.npy");
  EXPECT_THAT(msg, HasSubstr("unsupported dtype '>f4'"));
  EXPECT_THAT(msg, HasSubstr(dir.File("be.npy")));

  std::vector<uint8_t> cut = NumpyFile();
  cut.resize(cut.size() - 3);
  test_util::WriteBytes(dir.File("cut.npy"), cut);
  msg = std::string(ReadNpy(dir.File("cut.npy")).status().message());
  EXPECT_THAT(msg, HasSubstr("truncated"));
  EXPECT_THAT(msg, HasSubstr(dir.File("cut.npy")));

  absl::Status s = WriteNpy(dir.File("h.npy"), Tensor(DType::kF16, {2}));
  EXPECT_THAT(std::string(s.message()), HasSubstr("f16"));
  EXPECT_EQ(ReadNpy(dir.File("absent.npy")).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace qbench::data
