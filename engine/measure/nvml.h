// Measured GPU energy from NVIDIA's NVML, loaded at run time with dlopen: QBench neither
// links against the driver nor needs it installed. NVML's total energy counter
// (nvmlDeviceGetTotalEnergyConsumption, millijoules since the driver loaded, Volta and
// later) is read per device; a device without it is reported, not estimated.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace qbench {

class NvmlMeter {
 public:
  // Loads `library` (default: $QB_NVML_LIBRARY, else "libnvidia-ml.so.1") and finds the
  // devices. NOT_FOUND when the library or any device is missing; FAILED_PRECONDITION
  // when a device has no total energy counter; the message names the library or device.
  static absl::StatusOr<std::unique_ptr<NvmlMeter>> Open(const std::string& library = "");
  ~NvmlMeter();  // nvmlShutdown, dlclose

  // One reading per device, millijoules.
  absl::StatusOr<std::vector<uint64_t>> Read() const;
  // Joules between two readings, per device.
  static std::vector<double> Joules(const std::vector<uint64_t>& begin, const std::vector<uint64_t>& end);

  // "nvml:0 NVIDIA H200", one per device.
  const std::vector<std::string>& devices() const { return names_; }

  struct Api;  // nvml.cc

 private:
  NvmlMeter() = default;
  void* handle_ = nullptr;
  std::unique_ptr<Api> api_;
  std::vector<void*> devices_;
  std::vector<std::string> names_;
};

}  // namespace qbench
