#include "engine/measure/nvml.h"

#include <dlfcn.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace qbench {

// The NVML entry points we use, with their C signatures (nvml.h). Return 0 is
// NVML_SUCCESS; 3 is NVML_ERROR_NOT_SUPPORTED.
struct NvmlMeter::Api {
  using Init = int (*)();
  using Shutdown = int (*)();
  using Count = int (*)(unsigned int*);
  using Handle = int (*)(unsigned int, void**);
  using Name = int (*)(void*, char*, unsigned int);
  using Energy = int (*)(void*, unsigned long long*);
  using ErrorString = const char* (*)(int);
  Init init = nullptr;
  Shutdown shutdown = nullptr;
  Count count = nullptr;
  Handle handle = nullptr;
  Name name = nullptr;
  Energy energy = nullptr;
  ErrorString error = nullptr;

  std::string Error(int code) const { return error ? error(code) : absl::StrCat("NVML error ", code); }
};

namespace {

constexpr int kNotSupported = 3;

template <typename F>
bool Bind(void* handle, const char* symbol, F* out) {
  *out = reinterpret_cast<F>(dlsym(handle, symbol));
  return *out != nullptr;
}

}  // namespace

absl::StatusOr<std::unique_ptr<NvmlMeter>> NvmlMeter::Open(const std::string& library) {
  std::string lib = library;
  if (lib.empty()) {
    const char* env = std::getenv("QB_NVML_LIBRARY");
    lib = env && *env ? env : "libnvidia-ml.so.1";
  }
  std::unique_ptr<NvmlMeter> m(new NvmlMeter);
  m->handle_ = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (m->handle_ == nullptr)
    return absl::NotFoundError(absl::StrCat("NVML: cannot load ", lib, " (no NVIDIA driver here): ", dlerror()));
  m->api_ = std::make_unique<Api>();
  Api& a = *m->api_;
  const bool bound = Bind(m->handle_, "nvmlInit_v2", &a.init) && Bind(m->handle_, "nvmlShutdown", &a.shutdown) &&
                     Bind(m->handle_, "nvmlDeviceGetCount_v2", &a.count) &&
                     Bind(m->handle_, "nvmlDeviceGetHandleByIndex_v2", &a.handle) &&
                     Bind(m->handle_, "nvmlDeviceGetName", &a.name) &&
                     Bind(m->handle_, "nvmlDeviceGetTotalEnergyConsumption", &a.energy);
  Bind(m->handle_, "nvmlErrorString", &a.error);
  if (!bound) return absl::NotFoundError(absl::StrCat("NVML: ", lib, " lacks the energy API (driver too old)"));
  if (int rc = a.init(); rc != 0) {
    a.shutdown = nullptr;  // nothing to shut down
    return absl::NotFoundError(absl::StrCat("NVML: nvmlInit failed: ", a.Error(rc)));
  }
  unsigned int count = 0;
  if (int rc = a.count(&count); rc != 0) return absl::NotFoundError(absl::StrCat("NVML: ", a.Error(rc)));
  if (count == 0) return absl::NotFoundError("NVML: no GPU found");
  for (unsigned int i = 0; i < count; ++i) {
    void* device = nullptr;
    if (int rc = a.handle(i, &device); rc != 0)
      return absl::NotFoundError(absl::StrCat("NVML: device ", i, ": ", a.Error(rc)));
    char name[96] = {0};
    if (a.name(device, name, sizeof name) != 0) name[0] = '\0';
    unsigned long long mj = 0;
    if (int rc = a.energy(device, &mj); rc != 0)
      return absl::FailedPreconditionError(
          absl::StrCat("NVML: device ", i, " (", name, ") ",
                       rc == kNotSupported ? "has no total energy counter (pre-Volta GPU)" : a.Error(rc)));
    m->devices_.push_back(device);
    m->names_.push_back(absl::StrCat("nvml:", i, " ", name));
  }
  return m;
}

NvmlMeter::~NvmlMeter() {
  if (api_ && api_->shutdown) api_->shutdown();
  if (handle_) dlclose(handle_);
}

absl::StatusOr<std::vector<uint64_t>> NvmlMeter::Read() const {
  std::vector<uint64_t> out;
  for (size_t i = 0; i < devices_.size(); ++i) {
    unsigned long long mj = 0;
    if (int rc = api_->energy(devices_[i], &mj); rc != 0)
      return absl::UnavailableError(absl::StrCat("NVML: reading ", names_[i], ": ", api_->Error(rc)));
    out.push_back(mj);
  }
  return out;
}

std::vector<double> NvmlMeter::Joules(const std::vector<uint64_t>& begin, const std::vector<uint64_t>& end) {
  // The counter is 64-bit millijoules since the driver loaded: it does not wrap in practice,
  // but a driver reload resets it, which shows as a decrease and is reported as 0.
  std::vector<double> j;
  for (size_t i = 0; i < begin.size() && i < end.size(); ++i)
    j.push_back(end[i] >= begin[i] ? static_cast<double>(end[i] - begin[i]) / 1000.0 : 0.0);
  return j;
}

}  // namespace qbench
