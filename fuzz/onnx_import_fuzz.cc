// libFuzzer target: bytes as an ONNX model through the engine's importer (parse, checks of
// every node, attribute and initializer, constant folding and fusion passes). It must
// return a status for anything, never crash, hang or allocate without bound.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/onnx/importer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1 << 20)) return 0;  // the corpus is small models; larger adds only time
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  (void)qbench::ImportOnnxBytes(bytes, "fuzz");
  return 0;
}
