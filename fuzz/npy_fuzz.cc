// libFuzzer target: bytes as a .npy array (the header's Python-literal parser, dtype and
// shape checks against the data size before anything is allocated).
#include <cstddef>
#include <cstdint>

#include "engine/data/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto t = qbench::data::ParseNpy(data, size, "fuzz.npy");
  if (t.ok() && static_cast<size_t>(t->nbytes()) > size) __builtin_trap();  // data comes from the file
  return 0;
}
