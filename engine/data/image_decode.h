// Decodes JPEG and PNG files into 8-bit gray or RGB images.
//
// The format is chosen from the first bytes (JPEG: FF D8 FF; PNG: 89 'P' 'N' 'G' 0D 0A 1A 0A),
// never from the file name. Decoders never exit() or throw: libjpeg and libpng report
// errors through setjmp/longjmp handlers that become absl::Status.
//
// Output channels: gray sources stay 1 channel (the preprocessor expands them when the
// model wants RGB); everything else becomes RGB. Alpha is dropped, palettes expanded,
// 16-bit samples keep their high byte, CMYK/YCCK JPEGs are converted to RGB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/data/image.h"

namespace qbench::data {

// `name` is used in error messages only (normally the file path).
absl::StatusOr<Image> DecodeImage(const uint8_t* data, size_t size, const std::string& name);
absl::StatusOr<Image> DecodeImageFile(const std::string& path);

// The individual decoders, for callers that already know the format.
absl::StatusOr<Image> DecodeJpeg(const uint8_t* data, size_t size, const std::string& name);
absl::StatusOr<Image> DecodePng(const uint8_t* data, size_t size, const std::string& name);

}  // namespace qbench::data
