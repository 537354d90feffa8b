// A device runner's result.json and --describe line (engine/device/protocol.h): what an
// attached device's program writes back is outside input, like a client's.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/device/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  qbench::device::RunnerRequest request;
  request.timing = {{1, "time/b1.npy", 1, 0, 1, 100, 0}, {16, "time/b16.npy", 1, 0, 1, 100, 0}};
  (void)qbench::device::ParseRunnerResult(text, request);
  (void)qbench::device::ParseDescription(text);
  return 0;
}
