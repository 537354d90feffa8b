// What attached devices' programs and their declarations hand the worker
// (engine/device/): a runner's result.json and --describe line are outside input, like a
// client's; a devices file (ParseDevicesJson) and the daemon's hand-over of its attached
// devices to an engine process (AttachedFromJson) go through the same checks. One target
// for all four: they share the JSON shapes, and CI's fuzzing time.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/json_parse.h"
#include "engine/device/device.h"
#include "engine/device/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  qbench::device::RunnerRequest request;
  request.timing = {{1, "time/b1.npy", 1, 0, 1, 100, 0}, {16, "time/b16.npy", 1, 0, 1, 100, 0}};
  (void)qbench::device::ParseRunnerResult(text, request);
  (void)qbench::device::ParseDescription(text);
  if (auto j = qbench::ParseJson(text, "devices"); j.ok()) {
    (void)qbench::device::ParseDevicesJson(*j, "devices");
    (void)qbench::device::AttachedFromJson(*j);
  }
  return 0;
}
