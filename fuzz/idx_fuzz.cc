// libFuzzer target: bytes as an IDX file (MNIST format), plain or gzip-compressed (the
// gunzip is capped at 16 MiB here so a bomb is a status, not an out-of-memory).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/data/file_util.h"
#include "engine/data/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
    auto unzipped = qbench::data::GunzipBytes(data, size, "fuzz.idx.gz", 16 << 20);
    if (!unzipped.ok()) return 0;
    bytes = *std::move(unzipped);
  }
  for (int rank : {1, 3}) {
    auto a = qbench::data::ParseIdx(bytes, "fuzz.idx", rank);
    if (a.ok() && a->dims.size() != static_cast<size_t>(rank)) __builtin_trap();
  }
  return 0;
}
