// libFuzzer target: bytes as a JPEG file through the engine's decoder (libjpeg / libpng
// behind setjmp error handlers, size limits checked before pixels are allocated).
#include <cstddef>
#include <cstdint>

#include "engine/data/image_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto img = qbench::data::DecodeJpeg(data, size, "fuzz.jpeg");
  if (img.ok() && (img->width <= 0 || img->height <= 0 ||
                   img->pixels.size() != static_cast<size_t>(img->width) * img->height * img->channels))
    __builtin_trap();
  (void)qbench::data::DecodeImage(data, size, "fuzz");
  return 0;
}
