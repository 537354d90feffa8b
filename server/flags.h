// qbench-server's command line: one {name, value, help} table drives parsing and --help.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "server/server.h"

namespace qbench::server {

struct ServerFlags {
  ServerOptions options;
  std::string tokens_file;  // see token_file.h
  std::string db;           // PostgreSQL URI: tokens verified by the store
  bool migrate = false;     // apply migrations to --db and exit
  std::string migrations = "migrations";
  std::string bootstrap_team;  // --bootstrap-admin: create this team and an admin token, then exit
  std::string token_out;       // where --bootstrap-admin writes the secret (default: stdout)
  std::string worker_token_out;  // --bootstrap-admin: also a worker-role token, written here
  int reap_seconds = 5;        // how often expired leases are taken back
  bool help = false;
};

// INVALID_ARGUMENT naming the flag for unknown flags, missing or malformed values.
absl::StatusOr<ServerFlags> ParseServerFlags(int argc, const char* const* argv);
std::string ServerUsage();

}  // namespace qbench::server
