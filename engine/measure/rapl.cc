#include "engine/measure/rapl.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace qbench {
namespace {

namespace fs = std::filesystem;

absl::StatusOr<std::string> ReadLine(const fs::path& p) {
  std::ifstream f(p);
  if (!f) return RaplOpenError(p.string(), errno);
  std::string line;
  std::getline(f, line);
  return line;
}

absl::StatusOr<uint64_t> ReadCounter(const fs::path& p) {
  auto line = ReadLine(p);
  if (!line.ok()) return line.status();
  try {
    return static_cast<uint64_t>(std::stoull(*line));
  } catch (const std::exception&) {
    return absl::DataLossError(absl::StrCat(p.string(), ": not a counter: \"", *line, "\""));
  }
}

}  // namespace

absl::Status RaplOpenError(const std::string& path, int err) {
  if (err == EACCES || err == EPERM)
    return absl::PermissionDeniedError(absl::StrCat(
        path, ": permission denied. RAPL energy counters are readable by root only on this system "
              "(since CVE-2020-8694); run the worker as root, or grant read access with a udev rule "
              "(chmod a+r on energy_uj), to measure energy. Until then energy is modeled only."));
  return absl::NotFoundError(absl::StrCat(path, ": cannot open (", std::strerror(err), ")"));
}

absl::StatusOr<RaplMeter> RaplMeter::Open(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return absl::NotFoundError(absl::StrCat(root, ": no powercap RAPL on this host"));
  RaplMeter m;
  std::vector<fs::path> dirs;
  for (const auto& e : fs::recursive_directory_iterator(root, fs::directory_options::follow_directory_symlink, ec))
    if (e.path().filename().string().rfind("intel-rapl:", 0) == 0 && fs::exists(e.path() / "name")) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  for (const fs::path& d : dirs) {
    auto name = ReadLine(d / "name");
    if (!name.ok()) continue;
    if (name->rfind("package", 0) != 0 && *name != "dram") continue;
    if (std::any_of(m.domains_.begin(), m.domains_.end(), [&](const RaplDomain& x) { return x.path == d.string(); }))
      continue;
    auto range = ReadCounter(d / "max_energy_range_uj");
    if (!range.ok()) return range.status();
    auto probe = ReadCounter(d / "energy_uj");
    if (!probe.ok()) return probe.status();
    m.domains_.push_back({*name, d.string(), *range});
  }
  if (m.domains_.empty()) return absl::NotFoundError(absl::StrCat(root, ": no package or dram RAPL domain"));
  return m;
}

absl::StatusOr<std::vector<uint64_t>> RaplMeter::Read() const {
  std::vector<uint64_t> out;
  for (const RaplDomain& d : domains_) {
    auto v = ReadCounter(fs::path(d.path) / "energy_uj");
    if (!v.ok()) return v.status();
    out.push_back(*v);
  }
  return out;
}

std::vector<double> RaplMeter::Joules(const std::vector<uint64_t>& begin, const std::vector<uint64_t>& end) const {
  std::vector<double> j;
  for (size_t i = 0; i < domains_.size() && i < begin.size() && i < end.size(); ++i) {
    const uint64_t delta = end[i] >= begin[i] ? end[i] - begin[i] : end[i] + (domains_[i].max_range_uj - begin[i]);
    j.push_back(static_cast<double>(delta) * 1e-6);
  }
  return j;
}

}  // namespace qbench
