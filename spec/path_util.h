// Path helpers for manifests and for the service's data access rules: ${NAME} environment
// variables (trusted local manifests only), relative paths, real paths confined to roots,
// and the process-wide policy a worker daemon sets before it runs other people's jobs.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace qbench::data {

// Replaces every ${NAME} with the value of environment variable NAME. NAME is
// [A-Za-z_][A-Za-z0-9_]*. An unset or empty variable, or an unterminated "${", is an
// error naming the variable (never its value); a '$' not followed by '{' is kept as is.
absl::StatusOr<std::string> ExpandEnvVars(const std::string& text);

// `path` if absolute, else base_dir/path (lexically normalized). An empty base_dir
// leaves relative paths relative to the working directory.
std::string ResolvePath(const std::string& path, const std::string& base_dir);

// realpath(3): absolute, symlinks resolved, "." and ".." gone. NOT_FOUND or
// INVALID_ARGUMENT naming `field` only (never the path) when it cannot be resolved.
absl::StatusOr<std::string> RealPath(const std::string& path, std::string_view field);

// Whether `path` is `root` or below it; both must be real paths (no "..", no links).
bool IsInside(std::string_view path, std::string_view root);

// The real path of `path` when it lies inside one of `roots` (real paths); otherwise
// PERMISSION_DENIED naming `field` only. Symlinks are resolved first, so a link inside a
// root that points outside it is refused.
absl::StatusOr<std::string> ResolveInsideRoots(const std::string& path, std::span<const std::string> roots,
                                               std::string_view field);

// Real paths of configured roots (--shared-root); INVALID_ARGUMENT naming `flag` for a
// root that is not an existing directory. Empty in, empty out.
absl::StatusOr<std::vector<std::string>> RealRoots(std::span<const std::string> roots, std::string_view flag);

// The server's check of a job's shared path, made where the files may not be visible:
// absolute, no "", "." or ".." components, no control characters, and lexically inside
// one of `roots` (none configured: every shared path is refused). Workers check the
// real path again (ResolveInsideRoots). INVALID_ARGUMENT / PERMISSION_DENIED naming
// `field` only.
absl::Status CheckSharedPathSpelling(const std::string& path, std::span<const std::string> roots,
                                     std::string_view field);

// What a manifest may do: trusted local manifests (bench/datasets/) expand ${NAME} and
// name any file; manifests from uploads or shared volumes do neither.
struct ManifestRules {
  bool expand_env = true;
  std::vector<std::string> roots;  // non-empty: every path must resolve inside one of these
  bool hide_paths = false;         // errors name files relative to the manifest's folder
};

// Process-wide data policy for a process that runs other teams' jobs (the worker
// daemon). Without a call, manifests are trusted (${NAME} expanded, any path): what the
// local runner and the bench tools need. After it, for the life of the process:
//   - no manifest expands ${NAME};
//   - a manifest whose real path lies under `uploads_dir` (extracted archives, one folder
//     per archive) may name only files inside its own folder uploads_dir/<folder>/;
//   - when `shared_roots` is given, every other manifest must lie inside one of them and
//     may name only files inside them (an empty list: no other manifest is readable).
//   - no shared path may point into `private_dir` (the worker's cache: blobs of every
//     team; a path there would skip the ownership check of uploads).
// Thread-safe; calls accumulate (several daemons in one test process).
void ConfineDataAccess(const std::string& private_dir, const std::string& uploads_dir,
                       std::optional<std::vector<std::string>> shared_roots);

// The worker's check of a shared path a job names (a model or a manifest file): its real
// path, which must be a regular file, outside every private_dir and, when shared roots
// were given, inside one of them. NOT_FOUND / PERMISSION_DENIED / INVALID_ARGUMENT naming
// `field` only, never the path.
absl::StatusOr<std::string> CheckSharedFile(const std::string& path, std::string_view field);

// The rules for the manifest at `path` under the current policy; PERMISSION_DENIED when
// the policy allows no manifest there.
absl::StatusOr<ManifestRules> RulesForManifest(const std::string& path);

}  // namespace qbench::data
