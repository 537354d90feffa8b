#include "server/flags.h"

#include <algorithm>

#include "common/flags.h"
#include "common/status.h"
#include "spec/path_util.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace qbench::server {
namespace {

constexpr FlagSpec kFlags[] = {
    {"--listen", "HOST:PORT", "address to serve on (default 127.0.0.1:50051; port 0 picks one)"},
    {"--tls-cert", "FILE", "PEM certificate chain for TLS"},
    {"--tls-key", "FILE", "PEM private key for TLS"},
    {"--insecure", nullptr, "serve plaintext (local use only; required when no TLS is given)"},
    {"--data-dir", "DIR", "where blobs are stored (content-addressed)"},
    {"--max-upload-bytes", "N", "largest blob accepted (default 4 GiB)"},
    {"--tokens-file", "FILE", "hashed bearer tokens, lines \"<sha256 hex> <team_id> [admin]\""},
    {"--db", "URI", "PostgreSQL (libpq URI): tokens are verified by the store instead of --tokens-file"},
    {"--migrate", nullptr, "apply the migrations in --migrations to --db, then exit"},
    {"--migrations", "DIR", "the numbered SQL migrations (default ./migrations)"},
    {"--bootstrap-admin", "TEAM", "with --db: create TEAM (if new) and an admin token, print it, then exit"},
    {"--token-out", "FILE", "with --bootstrap-admin: write the token to FILE (mode 0600) instead of stdout; kept if FILE holds one"},
    {"--worker-token-out", "FILE", "with --bootstrap-admin: also a worker token (blobs of held jobs only) into FILE; kept if FILE holds one"},
    {"--reap-seconds", "N", "how often leases of dead workers are taken back (default 5)"},
    {"--handler-threads", "N", "threads running requests that wait on the database (default: one per core)"},
    {"--shared-root", "DIR", "jobs may name shared paths under DIR (repeatable; default none: uploads only)"},
    {"--job-limit", "NAME=N", "cap a job spec value (repeatable; give workers the same); NAME is one of:"},
    {"--help", nullptr, "show this help"},
};

}  // namespace

std::string ServerUsage() {
  std::string out = "usage: qbench-server --data-dir DIR (--tokens-file FILE | --db URI)\n"
                    "                     (--tls-cert FILE --tls-key FILE | --insecure) [--listen HOST:PORT] [--max-upload-bytes N]\n"
                    "       qbench-server --db URI --migrate [--migrations DIR]\n"
                    "       qbench-server --db URI --bootstrap-admin TEAM [--token-out FILE] [--worker-token-out FILE]\n\n";
  out += FlagHelp(kFlags);
  out += JobSpecLimitsHelp();
  return out;
}

absl::StatusOr<ServerFlags> ParseServerFlags(int argc, const char* const* argv) {
  ServerFlags out;
  std::vector<std::string> shared_roots;
  QB_ASSIGN_OR_RETURN(auto flags, ParseFlags(argc, argv, kFlags));
  for (const auto& [a, value] : flags) {
    if (a == "--listen") out.options.listen = value;
    else if (a == "--tls-cert") out.options.tls_cert = value;
    else if (a == "--tls-key") out.options.tls_key = value;
    else if (a == "--insecure") out.options.insecure = true;
    else if (a == "--data-dir") out.options.data_dir = value;
    else if (a == "--tokens-file") out.tokens_file = value;
    else if (a == "--db") out.db = value;
    else if (a == "--migrate") out.migrate = true;
    else if (a == "--migrations") out.migrations = value;
    else if (a == "--help") out.help = true;
    else if (a == "--bootstrap-admin") out.bootstrap_team = value;
    else if (a == "--token-out") out.token_out = value;
    else if (a == "--worker-token-out") out.worker_token_out = value;
    else if (a == "--shared-root") shared_roots.push_back(value);
    else if (a == "--job-limit") {
      JobLimits& limits = out.options.job_limits;
      QB_RETURN_IF_ERROR(Annotate(SetJobSpecLimit(value, &limits.spec), "--job-limit"));
      // The server's own caps on samples and configurations follow the same names.
      if (value.starts_with("samples=")) limits.max_samples = limits.spec.samples;
      if (value.starts_with("configs=")) limits.max_configs = static_cast<int>(std::min<int64_t>(limits.spec.configs, 1 << 20));
    }
    else if (a == "--handler-threads") {
      QB_ASSIGN_OR_RETURN(int64_t n, FlagInt(a, value, 1));
      out.options.handler_threads = static_cast<int>(n);
    } else if (a == "--reap-seconds") {
      QB_ASSIGN_OR_RETURN(int64_t n, FlagInt(a, value, 1));
      out.reap_seconds = static_cast<int>(n);
    }
    else if (a == "--max-upload-bytes") {
      if (!absl::SimpleAtoi(value, &out.options.max_upload_bytes) || out.options.max_upload_bytes <= 0)
        return absl::InvalidArgumentError(absl::StrCat("--max-upload-bytes: expected a positive integer, got \"", value, "\""));
    }
  }
  // Real paths, so that a root given through a symbolic link still matches the paths
  // workers resolve; a root that does not exist is an error now, not a refusal later.
  QB_ASSIGN_OR_RETURN(out.options.job_limits.shared_roots, data::RealRoots(shared_roots, "--shared-root"));
  return out;
}

}  // namespace qbench::server
