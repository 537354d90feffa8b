#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "engine/measure/energy_model.h"
#include "engine/measure/rapl.h"

namespace qbench {
namespace {

namespace fs = std::filesystem;

// A fake powercap tree: package-0 with a dram subdomain, and a "core" domain we ignore.
fs::path FakeTree(const std::string& tag) {
  const fs::path root = fs::path(::testing::TempDir()) / ("powercap_" + tag);
  fs::remove_all(root);
  auto domain = [&](const fs::path& d, const std::string& name, const std::string& energy, const std::string& range) {
    fs::create_directories(d);
    std::ofstream(d / "name") << name << "\n";
    std::ofstream(d / "energy_uj") << energy << "\n";
    std::ofstream(d / "max_energy_range_uj") << range << "\n";
  };
  domain(root / "intel-rapl:0", "package-0", "1000000", "262143328850");
  domain(root / "intel-rapl:0" / "intel-rapl:0:0", "core", "5", "262143328850");
  domain(root / "intel-rapl:0" / "intel-rapl:0:1", "dram", "2000000", "65532610987");
  return root;
}

TEST(RaplTest, FindsPackageAndDramAndHandlesWrapAround) {
  const fs::path root = FakeTree("wrap");
  auto m = RaplMeter::Open(root.string());
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->domains().size(), 2u);
  EXPECT_EQ(m->domains()[0].name, "package-0");
  EXPECT_EQ(m->domains()[1].name, "dram");
  auto begin = m->Read();
  ASSERT_TRUE(begin.ok());
  EXPECT_EQ((*begin)[0], 1000000u);
  // The package counter advances 2.5 J; the dram counter wraps: from 2 J to 0.5 J past
  // a range of 65532.610987 J -> 65532.610987 - 2 + 0.5 J.
  std::ofstream(root / "intel-rapl:0" / "energy_uj") << "3500000\n";
  std::ofstream(root / "intel-rapl:0" / "intel-rapl:0:1" / "energy_uj") << "500000\n";
  auto end = m->Read();
  ASSERT_TRUE(end.ok());
  const std::vector<double> j = m->Joules(*begin, *end);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_NEAR(j[0], 2.5, 1e-9);
  EXPECT_NEAR(j[1], 65532.610987 - 2.0 + 0.5, 1e-6);
}

TEST(RaplTest, MissingTreeAndUnreadableCountersAreExplained) {
  auto none = RaplMeter::Open((fs::path(::testing::TempDir()) / "no_such_powercap").string());
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(absl::IsNotFound(none.status())) << none.status();
  // Root reads any file, so the root-only counters are staged through the error mapping
  // itself; as another user the chmod-ed tree is checked end to end as well.
  const absl::Status denied = RaplOpenError("/sys/class/powercap/intel-rapl:0/energy_uj", EACCES);
  EXPECT_TRUE(absl::IsPermissionDenied(denied)) << denied;
  EXPECT_NE(denied.message().find("root only"), std::string::npos);
  EXPECT_NE(denied.message().find("intel-rapl:0/energy_uj"), std::string::npos);
  if (geteuid() != 0) {
    const fs::path root = FakeTree("perm");
    chmod((root / "intel-rapl:0" / "energy_uj").c_str(), 0);
    auto m = RaplMeter::Open(root.string());
    ASSERT_FALSE(m.ok());
    EXPECT_TRUE(absl::IsPermissionDenied(m.status())) << m.status();
  }
}

// 1e9 fp32 MACs = 4.6 mJ; the same as int8 = 0.3 mJ; 1 MB from DRAM = 1e6 * 243.75 pJ.
TEST(EnergyModelTest, PricesOperationsAndBytes) {
  OpCounts fp32;
  fp32.macs_fp32 = 1'000'000'000;
  EXPECT_NEAR(ModelEnergy(fp32).compute_joules, 4.6e-3, 1e-9);
  OpCounts int8;
  int8.macs_int8 = 1'000'000'000;
  EXPECT_NEAR(ModelEnergy(int8).compute_joules, 0.3e-3, 1e-9);
  OpCounts bytes;
  bytes.weight_bytes = 1'000'000;
  EXPECT_NEAR(ModelEnergy(bytes).memory_joules, 243.75e-6, 1e-12);
  EXPECT_LT(ModelEnergy(int8).total(), ModelEnergy(fp32).total());
}

}  // namespace
}  // namespace qbench
