#include "tests/pg_test_util.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/subprocess.h"

namespace qbench::testing {
namespace {

bool IsRoot() { return geteuid() == 0; }

// Runs argv (as `postgres` when we are root), appending stdout and stderr to `log`.
// Returns OK on exit status 0.
absl::Status Run(std::vector<std::string> argv, const std::string& log) {
  if (IsRoot()) argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return absl::InternalError("waitpid failed");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("`", absl::StrJoin(argv, " "), "` failed (status ", status, "), see ", log));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgTestCluster>> PgTestCluster::Start() {
  const char* env_bin = std::getenv("QB_PG_BIN");
  const std::string bin = env_bin && *env_bin ? env_bin : "/usr/lib/postgresql/15/bin";
  for (const char* tool : {"initdb", "pg_ctl", "postgres", "createdb"}) {
    if (access(absl::StrCat(bin, "/", tool).c_str(), X_OK) != 0) {
      return absl::FailedPreconditionError(absl::StrCat("PostgreSQL binary ", bin, "/", tool,
                                                        " not found: install postgresql-15 (tools/install-deps.sh) "
                                                        "or set QB_PG_BIN"));
    }
  }
  struct passwd* pg_user = nullptr;
  if (IsRoot()) {
    pg_user = getpwnam("postgres");
    if (!pg_user) return absl::FailedPreconditionError("running as root but there is no `postgres` user to run the server");
    if (access("/usr/sbin/runuser", X_OK) != 0 && access("/sbin/runuser", X_OK) != 0 &&
        access("/usr/bin/runuser", X_OK) != 0) {
      return absl::FailedPreconditionError("running as root but `runuser` (util-linux) is missing");
    }
  }
  // Short path: the Unix socket path (dir/.s.PGSQL.PORT) must stay under 107 bytes.
  std::string tmpl = (std::filesystem::temp_directory_path() / "qbpg-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return absl::InternalError(absl::StrCat("mkdtemp ", tmpl, " failed"));
  std::unique_ptr<PgTestCluster> pg(new PgTestCluster(bin, tmpl));
  if (pg_user && chown(tmpl.c_str(), pg_user->pw_uid, pg_user->pw_gid) != 0) {
    return absl::InternalError(absl::StrCat("chown ", tmpl, " to postgres failed"));
  }
  const std::string data = tmpl + "/data";
  if (absl::Status s = Run({bin + "/initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
                            "--no-sync"},
                           tmpl + "/initdb.log");
      !s.ok()) {
    return absl::InternalError(absl::StrCat(s.message(), "\n", ReadTextFile(tmpl + "/initdb.log")));
  }
  absl::Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    const int port = FreeTcpPort();
    if (port == 0) continue;
    last = pg->StartOn(port);
    if (last.ok()) return pg;
  }
  return absl::InternalError(absl::StrCat("PostgreSQL did not start: ", last.message(), "\n",
                                          ReadTextFile(tmpl + "/server.log")));
}

absl::Status PgTestCluster::StartOn(int port) {
  absl::Status s = Run({bin_ + "/pg_ctl", "-D", dir_ + "/data", "-l", dir_ + "/server.log", "-w", "-t", "30", "start",
                        "-o",
                        absl::StrCat("-p ", port, " -k ", dir_,
                                     " -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
                                     " -c full_page_writes=off")},
                       dir_ + "/pg_ctl.log");
  if (s.ok()) {
    port_ = port;
    running_ = true;
  }
  return s;
}

absl::Status PgTestCluster::Stop() {
  if (!running_) return absl::OkStatus();
  absl::Status s = Run({bin_ + "/pg_ctl", "-D", dir_ + "/data", "-m", "fast", "-w", "stop"}, dir_ + "/pg_ctl.log");
  if (s.ok()) running_ = false;
  return s;
}

absl::Status PgTestCluster::Restart() {
  if (running_) return absl::OkStatus();
  return StartOn(port_);
}

PgTestCluster::~PgTestCluster() {
  if (running_) {
    (void)Run({bin_ + "/pg_ctl", "-D", dir_ + "/data", "-m", "fast", "-w", "stop"}, dir_ + "/pg_ctl.log");
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string PgTestCluster::Uri(const std::string& database) const {
  return absl::StrCat("postgresql://postgres@127.0.0.1:", port_, "/", database);
}

absl::StatusOr<PgTestCluster*> SharedPgCluster() {
  static absl::StatusOr<std::unique_ptr<PgTestCluster>> cluster = PgTestCluster::Start();
  if (!cluster.ok()) return cluster.status();
  return cluster->get();
}

absl::Status PgTestCluster::CreateDatabase(const std::string& name) {
  return Run({bin_ + "/createdb", "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", "postgres", name},
             dir_ + "/createdb.log");
}

}  // namespace qbench::testing
