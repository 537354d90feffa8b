// A throwaway PostgreSQL 15 cluster for tests: initdb in a fresh directory under the system
// temporary directory, pg_ctl start on a free loopback port, stopped and deleted by the
// destructor. As root (CI) the server runs as the `postgres` user via `runuser -u postgres`
// (initdb refuses root). See DEPENDENCY-NOTES section 3.
//
// Never skips: when the binaries are missing Start() returns FAILED_PRECONDITION naming the
// directory and the package to install, and the test should fail with that message.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace qbench::testing {

class PgTestCluster {
 public:
  // Binaries from $QB_PG_BIN, else /usr/lib/postgresql/15/bin (Debian keeps them off PATH).
  static absl::StatusOr<std::unique_ptr<PgTestCluster>> Start();
  ~PgTestCluster();  // pg_ctl stop -m fast, then removes the directory
  PgTestCluster(const PgTestCluster&) = delete;
  PgTestCluster& operator=(const PgTestCluster&) = delete;

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  // postgresql://postgres@127.0.0.1:PORT/<database>
  std::string Uri(const std::string& database = "postgres") const;

  // createdb NAME (name passed as an argument, no shell).
  absl::Status CreateDatabase(const std::string& name);

  // pg_ctl stop -m fast (clients see their connections drop), and start again on the
  // same port: for tests of reconnection.
  absl::Status Stop();
  absl::Status Restart();

 private:
  absl::Status StartOn(int port);
  PgTestCluster(std::string bin, std::string dir) : bin_(std::move(bin)), dir_(std::move(dir)) {}
  std::string bin_;
  std::string dir_;
  int port_ = 0;
  bool running_ = false;
};

// One cluster per test process, started on first use and stopped at exit. A failure to
// start is returned to every caller, so each test fails with the reason (never a skip).
absl::StatusOr<PgTestCluster*> SharedPgCluster();

}  // namespace qbench::testing
