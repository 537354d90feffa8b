#include "spec/path_util.h"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status.h"

namespace qbench::data {
namespace {

namespace fs = std::filesystem;

bool IsNameChar(char ch, bool first) {
  const bool alpha = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
  return alpha || (!first && ch >= '0' && ch <= '9');
}

struct Policy {
  std::mutex mu;
  bool confined = false;
  std::vector<std::string> upload_dirs;   // real (or absolute, when not yet created) paths
  std::vector<std::string> private_dirs;
  bool shared_confined = false;
  std::vector<std::string> shared_roots;  // real paths
};

Policy& GetPolicy() {
  static Policy* p = new Policy;  // never destroyed: used by threads until exit
  return *p;
}

// The real path when it exists, else the absolute normalized path (a cache folder that
// is created later).
std::string BestRealPath(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec) return fs::absolute(path).lexically_normal().string();
  std::string s = p.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
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
      return absl::InvalidArgumentError(absl::StrCat("unterminated \"${\" at offset ", i));
    const std::string name = text.substr(i + 2, close - i - 2);
    bool valid = !name.empty() && name.size() <= 64;
    for (size_t k = 0; k < name.size() && valid; ++k) valid = IsNameChar(name[k], k == 0);
    if (!valid) return absl::InvalidArgumentError(absl::StrCat("invalid environment variable name at offset ", i));
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

absl::StatusOr<std::string> RealPath(const std::string& path, std::string_view field) {
  if (path.empty() || path.find('\0') != std::string::npos)
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(field), ": empty or invalid path"));
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR)
      return absl::NotFoundError(absl::StrCat(ToAbsl(field), ": no such file"));
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(field), ": cannot be resolved"));
  }
  return std::string(buf);
}

bool IsInside(std::string_view path, std::string_view root) {
  while (root.size() > 1 && root.back() == '/') root.remove_suffix(1);
  if (root == "/") return !path.empty() && path[0] == '/';
  if (path.size() < root.size() || path.substr(0, root.size()) != root) return false;
  return path.size() == root.size() || path[root.size()] == '/';
}

absl::StatusOr<std::string> ResolveInsideRoots(const std::string& path, std::span<const std::string> roots,
                                               std::string_view field) {
  QB_ASSIGN_OR_RETURN(std::string real, RealPath(path, field));
  for (const std::string& root : roots)
    if (IsInside(real, root)) return real;
  return absl::PermissionDeniedError(absl::StrCat(ToAbsl(field), ": is outside the folders this worker may read"));
}

absl::StatusOr<std::vector<std::string>> RealRoots(std::span<const std::string> roots, std::string_view flag) {
  std::vector<std::string> out;
  for (const std::string& r : roots) {
    QB_ASSIGN_OR_RETURN(std::string real, RealPath(r, flag));
    std::error_code ec;
    if (!fs::is_directory(real, ec))
      return absl::InvalidArgumentError(absl::StrCat(ToAbsl(flag), ": \"", r, "\" is not a directory"));
    out.push_back(std::move(real));
  }
  return out;
}

absl::Status CheckSharedPathSpelling(const std::string& path, std::span<const std::string> roots,
                                     std::string_view field) {
  const auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(field), ": ", ToAbsl(why)));
  };
  if (path.empty() || path[0] != '/') return bad("must be an absolute path");
  if (path.size() > 4096) return bad("is longer than 4096 bytes");
  for (unsigned char ch : path)
    if (ch < 0x20 || ch == 0x7f) return bad("must not contain control characters");
  std::vector<absl::string_view> parts = absl::StrSplit(absl::string_view(path).substr(1), '/');
  for (absl::string_view part : parts)
    if (part.empty() || part == "." || part == "..")
      return bad("must be a normalized path (no empty, \".\" or \"..\" components)");
  if (roots.empty()) return absl::PermissionDeniedError(absl::StrCat(ToAbsl(field), ": shared paths are not enabled on this server (no --shared-root)"));
  for (const std::string& root : roots)
    if (IsInside(path, root)) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(ToAbsl(field), ": is outside the server's shared roots"));
}

void ConfineDataAccess(const std::string& private_dir, const std::string& uploads_dir,
                       std::optional<std::vector<std::string>> shared_roots) {
  Policy& p = GetPolicy();
  std::lock_guard<std::mutex> lock(p.mu);
  p.confined = true;
  if (!private_dir.empty()) p.private_dirs.push_back(BestRealPath(private_dir));
  if (!uploads_dir.empty()) p.upload_dirs.push_back(BestRealPath(uploads_dir));
  if (shared_roots) {
    p.shared_confined = true;
    for (const std::string& r : *shared_roots) p.shared_roots.push_back(BestRealPath(r));
  }
}

absl::StatusOr<std::string> CheckSharedFile(const std::string& path, std::string_view field) {
  const std::string f(field);
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(f, ": empty shared path"));
  absl::StatusOr<std::string> real = RealPath(path, field);
  if (!real.ok()) {
    if (real.status().code() == absl::StatusCode::kNotFound)
      return absl::NotFoundError(absl::StrCat(f, ": the shared path does not exist on this worker"));
    return real.status();
  }
  {
    Policy& p = GetPolicy();
    std::lock_guard<std::mutex> lock(p.mu);
    for (const std::string& dir : p.private_dirs)
      if (IsInside(*real, dir))
        return absl::PermissionDeniedError(absl::StrCat(f, ": shared paths may not point into the worker's cache"));
    if (p.shared_confined) {
      bool inside = false;
      for (const std::string& root : p.shared_roots) inside = inside || IsInside(*real, root);
      if (!inside)
        return absl::PermissionDeniedError(absl::StrCat(
            f, ": the shared path is outside this worker's shared roots (--shared-root)"));
    }
  }
  struct stat st;
  if (::stat(real->c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return absl::InvalidArgumentError(absl::StrCat(f, ": the shared path is not a regular file"));
  return real;
}

absl::StatusOr<ManifestRules> RulesForManifest(const std::string& path) {
  Policy& p = GetPolicy();
  std::lock_guard<std::mutex> lock(p.mu);
  if (!p.confined) return ManifestRules{};
  ManifestRules rules;
  rules.expand_env = false;
  rules.hide_paths = true;
  QB_ASSIGN_OR_RETURN(std::string real, RealPath(path, "manifest"));
  for (const std::string& dir : p.upload_dirs) {
    if (!IsInside(real, dir) || real.size() == dir.size()) continue;
    // dir/<folder>/...: the archive's own folder.
    const size_t start = dir.size() + 1;
    const size_t slash = real.find('/', start);
    if (slash == std::string::npos)
      return absl::PermissionDeniedError("manifest: is not inside an extracted archive's folder");
    rules.roots = {real.substr(0, slash)};
    return rules;
  }
  if (!p.shared_confined) {
    rules.hide_paths = false;
    return rules;  // no shared roots configured by the caller: only expansion is off
  }
  for (const std::string& root : p.shared_roots)
    if (IsInside(real, root)) {
      rules.roots = p.shared_roots;
      return rules;
    }
  return absl::PermissionDeniedError("manifest: is outside the folders this worker may read");
}

}  // namespace qbench::data
