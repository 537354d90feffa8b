// qbench-worker: today its local mode runs one job spec without server or database and
// prints the results (a table, or JSON with --json). The service issue adds the daemon.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include "worker/engine/pipeline/pipeline.h"

namespace {

struct Flag {
  const char* name;
  const char* value;  // nullptr for boolean flags
  const char* help;
};

// One table drives both parsing and --help.
constexpr Flag kFlags[] = {
    {"--local", "SPEC", "run the job spec SPEC (JSON) here, without server or database"},
    {"--json", nullptr, "print results as JSON instead of a table"},
    {"--out", "FILE", "also write the JSON results to FILE"},
    {"--help", nullptr, "show this help"},
};

void Usage(FILE* f) {
  std::fprintf(f, "usage: qbench-worker --local SPEC [--json] [--out FILE]\n\n");
  for (const Flag& fl : kFlags)
    std::fprintf(f, "  %-8s %-6s %s\n", fl.name, fl.value ? fl.value : "", fl.help);
}

}  // namespace

int main(int argc, char** argv) {
  std::string spec_path, out_path;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const Flag* flag = nullptr;
    for (const Flag& f : kFlags)
      if (a == f.name) flag = &f;
    if (flag == nullptr) {
      std::fprintf(stderr, "qbench-worker: unknown argument \"%s\"\n", a.c_str());
      Usage(stderr);
      return 2;
    }
    if (flag->value && i + 1 >= argc) {
      std::fprintf(stderr, "qbench-worker: %s needs a value (%s)\n", flag->name, flag->value);
      return 2;
    }
    if (a == "--local") spec_path = argv[++i];
    else if (a == "--out") out_path = argv[++i];
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
