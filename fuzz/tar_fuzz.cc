// libFuzzer target: bytes as a dataset archive (tar, plain or gzip) read entry by entry
// with client/tar.h's TarReader, then extracted with ExtractArchive (what the worker's
// cache does) into a scratch folder that must stay the only place written: names with
// "..", absolute paths, links and devices are refused.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "client/dataset_archive.h"
#include "client/tar.h"

namespace {

namespace fs = std::filesystem;

const fs::path& Scratch() {
  static const fs::path dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    fs::path d = fs::path(tmp && *tmp ? tmp : "/tmp") / ("qbench-tar-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path archive = Scratch() / "in.tar";
  const fs::path out = Scratch() / "out";
  {
    std::FILE* f = std::fopen(archive.c_str(), "wb");
    if (f == nullptr) return 0;
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  if (auto tar = qbench::client::TarReader::Open(archive.string()); tar.ok()) {
    qbench::client::TarEntry e;
    std::vector<char> buf(4096);
    for (int entries = 0; entries < 10000; ++entries) {
      auto more = (*tar)->Next(&e);
      if (!more.ok() || !*more) break;
      for (int64_t total = 0; total < (int64_t{64} << 20);) {  // 64 MiB per entry is plenty
        auto n = (*tar)->Read(buf.data(), static_cast<int64_t>(buf.size()));
        if (!n.ok() || *n == 0) break;
        total += *n;
      }
    }
  }
  std::error_code ec;
  fs::remove_all(out, ec);
  fs::create_directories(out, ec);
  (void)qbench::client::ExtractArchive(archive.string(), out.string());
  // Nothing may appear beside the output folder.
  for (const auto& entry : fs::directory_iterator(Scratch(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name != "in.tar" && name != "out") __builtin_trap();
  }
  fs::remove_all(out, ec);
  return 0;
}
