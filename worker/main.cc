// qbench-worker: today its local mode runs one job spec without server or database and
// prints the results (a table, or JSON with --json). The service issue adds the daemon.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include "common/flags.h"
#include "worker/engine/pipeline/pipeline.h"

namespace {

// One table drives both parsing and --help.
constexpr qbench::FlagSpec kFlags[] = {
    {"--local", "SPEC", "run the job spec SPEC (JSON) here, without server or database"},
    {"--json", nullptr, "print results as JSON instead of a table"},
    {"--out", "FILE", "also write the JSON results to FILE"},
    {"--help", nullptr, "show this help"},
};

void Usage(FILE* f) {
  std::fprintf(f, "usage: qbench-worker --local SPEC [--json] [--out FILE]\n\n");
  std::fputs(qbench::FlagHelp(kFlags).c_str(), f);
}

}  // namespace

int main(int argc, char** argv) {
  std::string spec_path, out_path;
  bool json = false;
  auto flags = qbench::ParseFlags(argc, argv, kFlags);
  if (!flags.ok()) {
    std::fprintf(stderr, "qbench-worker: %s\n", std::string(flags.status().message()).c_str());
    Usage(stderr);
    return 2;
  }
  for (const auto& [a, v] : *flags) {
    if (a == "--local") spec_path = v;
    else if (a == "--out") out_path = v;
    else if (a == "--json") json = true;
    else if (a == "--help") {
      Usage(stdout);
      return 0;
    }
  }
  if (spec_path.empty()) {
    Usage(stderr);
    return 2;
  }
  auto spec = qbench::LoadJobSpec(spec_path);
  if (!spec.ok()) {
    std::fprintf(stderr, "qbench-worker: %s\n", std::string(spec.status().message()).c_str());
    return 2;
  }
  auto result = qbench::RunJob(*spec);
  if (!result.ok()) {
    std::fprintf(stderr, "qbench-worker: %s\n", std::string(result.status().message()).c_str());
    return 1;
  }
  const nlohmann::json j = qbench::ToJson(*result);
  if (!out_path.empty()) std::ofstream(out_path) << j.dump(2) << "\n";
  if (json) std::cout << j.dump(2) << "\n";
  else std::cout << qbench::ToTable(*result);
  return 0;
}
