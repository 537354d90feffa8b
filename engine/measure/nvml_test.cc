#include "engine/measure/nvml.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace qbench {
namespace {

TEST(NvmlMeterTest, MissingLibraryIsNotFoundAndNamed) {
  auto m = NvmlMeter::Open("/nonexistent/libnvidia-ml.so.1");
  EXPECT_EQ(m.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(m.status().message().find("/nonexistent/libnvidia-ml.so.1"), absl::string_view::npos);
}

TEST(NvmlMeterTest, ReadsEnergyPerDeviceThroughTheLoadedLibrary) {
  unsetenv("QB_FAKE_NVML_NO_ENERGY");
  setenv("QB_FAKE_NVML_DEVICES", "2", 1);
  auto m = NvmlMeter::Open(QB_FAKE_NVML_PATH);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ((*m)->devices().size(), 2u);
  EXPECT_EQ((*m)->devices()[1], "nvml:1 Fake GPU 1");
  auto a = (*m)->Read();
  auto b = (*m)->Read();
  ASSERT_TRUE(a.ok() && b.ok());
  const std::vector<double> j = NvmlMeter::Joules(*a, *b);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_DOUBLE_EQ(j[0], 1.0);  // the fake adds 1000 mJ per read on device 0
  EXPECT_DOUBLE_EQ(j[1], 2.0);
  EXPECT_EQ(NvmlMeter::Joules({5000}, {1000})[0], 0.0) << "a counter reset is not negative energy";
}

TEST(NvmlMeterTest, DeviceWithoutEnergyCounterIsExplained) {
  setenv("QB_FAKE_NVML_NO_ENERGY", "1", 1);
  auto m = NvmlMeter::Open(QB_FAKE_NVML_PATH);
  unsetenv("QB_FAKE_NVML_NO_ENERGY");
  EXPECT_EQ(m.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(m.status().message().find("no total energy counter"), absl::string_view::npos) << m.status();
}

TEST(NvmlMeterTest, NoDevicesIsNotFound) {
  setenv("QB_FAKE_NVML_DEVICES", "0", 1);
  auto m = NvmlMeter::Open(QB_FAKE_NVML_PATH);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace qbench
