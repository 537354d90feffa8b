// libFuzzer target: bytes as a dataset manifest, parsed as a trusted local manifest and
// as an uploaded one (no ${NAME}, paths confined to a folder that does not exist). Either
// must return a status, never crash; a confined manifest that parses names no file.
#include <cstddef>
#include <cstdint>
#include <string>

#include "spec/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)qbench::data::ParseManifest(text, "/fuzz-base", "fuzz.json");
  qbench::data::ManifestRules confined;
  confined.expand_env = false;
  confined.roots = {"/nonexistent-qbench-fuzz-root"};
  confined.hide_paths = true;
  auto m = qbench::data::ParseManifest(text, "/nonexistent-qbench-fuzz-root", "fuzz.json", confined);
  if (m.ok() && (!m->images.empty() || !m->labels.empty() || !m->root.empty())) __builtin_trap();
  return 0;
}
