#include "engine/data/image_decode.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/data/file_util.h"

namespace qbench::data {
namespace {

using Decoder = absl::StatusOr<Image> (*)(const uint8_t*, size_t, const std::string&);

// Magic bytes -> decoder. A table so a new format is one line.
struct ImageFormat {
  const char* name;
  const char* magic;
  size_t magic_size;
  Decoder decode;
};

constexpr ImageFormat kFormats[] = {
    {"jpeg", "\xFF\xD8\xFF", 3, DecodeJpeg},
    {"png", "\x89PNG\r\n\x1A\n", 8, DecodePng},
};

}  // namespace

absl::StatusOr<Image> DecodeImage(const uint8_t* data, size_t size, const std::string& name) {
  for (const ImageFormat& f : kFormats) {
    if (size >= f.magic_size && std::memcmp(data, f.magic, f.magic_size) == 0)
      return f.decode(data, size, name);
  }
  return absl::InvalidArgumentError(
      absl::StrCat(name, ": not a JPEG or PNG file (unrecognized first bytes, ", size, " bytes)"));
}

absl::StatusOr<Image> DecodeImageFile(const std::string& path) {
  QB_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path));
  return DecodeImage(bytes.data(), bytes.size(), path);
}

}  // namespace qbench::data
