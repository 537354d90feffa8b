#include "worker/engine/data/path_util.h"

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace qbench::data {
namespace {

bool IsNameChar(char ch, bool first) {
  const bool alpha = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
  return alpha || (!first && ch >= '0' && ch <= '9');
}

}  // namespace

absl::StatusOr<std::string> ExpandEnvVars(const std::string& text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$' || i + 1 >= text.size() || text[i + 1] != '{') {
      out.push_back(text[i++]);
      continue;
    }
    const size_t close = text.find('}', i + 2);
    if (close == std::string::npos)
      return absl::InvalidArgumentError(absl::StrCat("unterminated \"${\" at offset ", i, " in \"", text, "\""));
    const std::string name = text.substr(i + 2, close - i - 2);
    bool valid = !name.empty();
    for (size_t k = 0; k < name.size() && valid; ++k) valid = IsNameChar(name[k], k == 0);
    if (!valid)
      return absl::InvalidArgumentError(absl::StrCat("invalid environment variable name \"${", name, "}\""));
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0')
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable ", name, " is not set (used as ${", name, "})"));
    out += value;
    i = close + 1;
  }
  return out;
}

std::string ResolvePath(const std::string& path, const std::string& base_dir) {
  std::filesystem::path p(path);
  if (p.is_absolute() || base_dir.empty()) return p.lexically_normal().string();
  return (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

}  // namespace qbench::data
