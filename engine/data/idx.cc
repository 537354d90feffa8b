#include "engine/data/idx.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "engine/data/file_util.h"

namespace qbench::data {
namespace {

constexpr uint8_t kTypeUnsignedByte = 0x08;

uint32_t BigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

absl::StatusOr<IdxArray> ReadIdx(const std::string& path, int expected_rank) {
  QB_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileMaybeGzip(path));
  return ParseIdx(std::move(bytes), path, expected_rank);
}

absl::StatusOr<IdxArray> ParseIdx(std::vector<uint8_t> bytes, const std::string& path, int expected_rank) {
  auto error = [&](auto&&... parts) {
    return absl::InvalidArgumentError(absl::StrCat("idx ", path, ": ", parts...));
  };
  if (bytes.size() < 4) return error("truncated: ", bytes.size(), " bytes, too short for the magic number");
  // Errors describe the header, never echo the file's bytes (a wrong file may be a secret).
  const int rank = bytes[3];
  if (bytes[0] != 0 || bytes[1] != 0) return error("not an IDX file (its magic number does not start with 00 00)");
  if (bytes[2] != kTypeUnsignedByte) return error("element type is not supported (only unsigned byte, 0x08)");
  if (rank != expected_rank)
    return error("the magic number's rank is not ", expected_rank,
                 expected_rank == 3 ? " (images, 0x00000803)" : " (labels, 0x00000801)");
  const size_t header = 4 + 4 * static_cast<size_t>(rank);
  if (bytes.size() < header) return error("truncated: header needs ", header, " bytes, file has ", bytes.size());

  IdxArray out;
  uint64_t count = 1;
  for (int i = 0; i < rank; ++i) {
    const uint32_t d = BigEndian32(&bytes[4 + 4 * i]);
    out.dims.push_back(d);
    count *= d;  // at most 3 dims of 2^32: fits, and compared against the file size next
    if (count > (uint64_t{1} << 40)) return error("dimensions are too large");
  }
  const uint64_t have = bytes.size() - header;
  if (have < count)
    return error("truncated: dims ", absl::StrJoin(out.dims, "x"), " need ", count, " bytes of data, file has ", have);
  if (have > count) return error(have - count, " unexpected bytes after the data");
  out.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
  return out;
}

}  // namespace qbench::data
