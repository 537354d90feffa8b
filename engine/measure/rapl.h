// Measured energy from Linux powercap RAPL (/sys/class/powercap/intel-rapl:*; AMD
// family 17h+ CPUs appear there too). Each domain has a cumulative energy_uj counter that
// wraps at max_energy_range_uj. Package domains are named "package-N", DRAM subdomains
// "dram"; we read every package and DRAM domain found by name.
//
// Since 2020 (CVE-2020-8694) energy_uj is readable by root only on most distributions:
// opening fails with a message that says so instead of reporting zero.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace qbench {

struct RaplDomain {
  std::string name;  // "package-0", "dram"
  std::string path;  // directory holding energy_uj
  uint64_t max_range_uj = 0;
};

// The status for a counter file that could not be opened with errno `err` (EACCES gets
// the root-only explanation). Exposed for tests: as root the case cannot be staged.
absl::Status RaplOpenError(const std::string& path, int err);

class RaplMeter {
 public:
  // Finds the package and DRAM domains under `root`. NotFound when there is no RAPL;
  // PermissionDenied (explained) when the counters are root-only.
  static absl::StatusOr<RaplMeter> Open(const std::string& root = "/sys/class/powercap");

  // One reading of every domain's counter, in microjoules.
  absl::StatusOr<std::vector<uint64_t>> Read() const;

  // Joules consumed between two readings, per domain, with wrap-around: a counter that
  // went down wrapped once past max_energy_range_uj.
  std::vector<double> Joules(const std::vector<uint64_t>& begin, const std::vector<uint64_t>& end) const;

  const std::vector<RaplDomain>& domains() const { return domains_; }

 private:
  std::vector<RaplDomain> domains_;
};

}  // namespace qbench
