#include "worker/daemon/options.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "spec/path_util.h"

namespace qbench::worker {
namespace {

absl::StatusOr<absl::Duration> Seconds(const std::string& flag, const std::string& value) {
  QB_ASSIGN_OR_RETURN(double s, FlagDouble(flag, value, 0.001));
  return absl::Seconds(s);
}

absl::StatusOr<std::string> ReadToken(const std::string& path) {
  std::ifstream f(path);
  if (!f) return absl::NotFoundError(absl::StrCat("--token-file: cannot read \"", path, "\""));
  std::stringstream ss;
  ss << f.rdbuf();
  return std::string(absl::StripAsciiWhitespace(ss.str()));
}

}  // namespace

std::string DefaultCacheDir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return absl::StrCat(xdg, "/qbench");
  if (const char* home = std::getenv("HOME"); home && *home) return absl::StrCat(home, "/.cache/qbench");
  return "/tmp/qbench-cache";
}

absl::StatusOr<DaemonOptions> DaemonOptionsFromFlags(const std::vector<std::pair<std::string, std::string>>& flags) {
  DaemonOptions o;
  client::Connection conn;
  bool tls_flags = false;
  std::string token_file;
  for (const auto& [flag, value] : flags) {
    if (flag == "--db") {
      o.db_uri = value;
    } else if (flag == "--server") {
      conn.server = value;
    } else if (flag == "--insecure") {
      conn.insecure = true;
      tls_flags = true;
    } else if (flag == "--ca") {
      conn.ca_file = value;
      tls_flags = true;
    } else if (flag == "--token-file") {
      token_file = value;
    } else if (flag == "--id") {
      o.id = value;
    } else if (flag == "--cache-dir") {
      o.cache_dir = value;
    } else if (flag == "--lease-seconds") {
      QB_ASSIGN_OR_RETURN(o.lease, Seconds(flag, value));
    } else if (flag == "--poll-seconds") {
      QB_ASSIGN_OR_RETURN(o.poll, Seconds(flag, value));
    } else if (flag == "--db-retry-seconds") {
      QB_ASSIGN_OR_RETURN(double s, FlagDouble(flag, value, 0));
      o.db_retry = absl::Seconds(s);
    } else if (flag == "--once") {
      o.once = true;
    } else if (flag == "--max-jobs") {
      QB_ASSIGN_OR_RETURN(o.max_jobs, FlagInt(flag, value, 1));
    } else if (flag == "--shared-root") {
      o.shared_roots.push_back(value);
    } else if (flag == "--job-limit") {
      QB_RETURN_IF_ERROR(Annotate(SetJobSpecLimit(value, &o.spec_limits), flag));
    }
  }
  if (o.db_uri.empty()) return absl::InvalidArgumentError("--db is required in daemon mode");
  QB_ASSIGN_OR_RETURN(o.shared_roots, data::RealRoots(o.shared_roots, "--shared-root"));
  if (conn.insecure && !conn.ca_file.empty())
    return absl::InvalidArgumentError("--insecure and --ca exclude each other");
  if (conn.server.empty()) {
    if (tls_flags || !token_file.empty())
      return absl::InvalidArgumentError("--insecure, --ca and --token-file need --server");
    return o;
  }
  if (!token_file.empty()) {
    QB_ASSIGN_OR_RETURN(conn.token, ReadToken(token_file));
  } else if (const char* t = std::getenv("QBENCH_TOKEN"); t && *t) {
    conn.token = t;
  }
  QB_RETURN_IF_ERROR(client::CheckConnection(conn));
  o.server = conn;
  return o;
}

}  // namespace qbench::worker
