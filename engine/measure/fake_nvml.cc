// A stand-in for libnvidia-ml.so for tests: the NVML entry points NvmlMeter uses, with
// behaviour set by environment variables. QB_FAKE_NVML_DEVICES (default 2) devices; each
// energy read advances that device's counter by 1000 mJ * (index + 1);
// QB_FAKE_NVML_NO_ENERGY=1 makes the energy call answer NVML_ERROR_NOT_SUPPORTED.
#include <cstdio>
#include <cstdlib>

namespace {
unsigned long long counters[8] = {0};
bool EnvSet(const char* n) { return std::getenv(n) && std::getenv(n)[0] == '1'; }
}  // namespace

extern "C" {
int nvmlInit_v2() { return 0; }
int nvmlShutdown() { return 0; }
int nvmlDeviceGetCount_v2(unsigned int* n) {
  const char* e = std::getenv("QB_FAKE_NVML_DEVICES");
  *n = e ? static_cast<unsigned int>(std::atoi(e)) : 2;
  return 0;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, void** h) {
  if (i >= 8) return 2;  // NVML_ERROR_INVALID_ARGUMENT
  *h = &counters[i];
  return 0;
}
int nvmlDeviceGetName(void* h, char* name, unsigned int len) {
  std::snprintf(name, len, "Fake GPU %d", static_cast<int>(static_cast<unsigned long long*>(h) - counters));
  return 0;
}
int nvmlDeviceGetTotalEnergyConsumption(void* h, unsigned long long* mj) {
  if (EnvSet("QB_FAKE_NVML_NO_ENERGY")) return 3;
  auto* c = static_cast<unsigned long long*>(h);
  *c += 1000 * static_cast<unsigned long long>(c - counters + 1);
  *mj = *c;
  return 0;
}
const char* nvmlErrorString(int rc) { return rc == 3 ? "Not Supported" : "Unknown Error"; }
}
