// qbench-server: the QBench gRPC API.
//   --db URI        the PostgreSQL store: tokens, jobs, results, devices, admin (production)
//   --tokens-file   tokens from a file and blobs only (no store; Jobs answer UNIMPLEMENTED)
//   --db URI --migrate                 applies the migrations and exits
//   --db URI --bootstrap-admin TEAM    creates the first team and an admin token, and exits
// With --db a reaper thread takes back the leases of workers that stopped heart-beating.
#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include "server/flags.h"
#include "server/server.h"
#include "server/store/migrate.h"
#include "server/store/pool.h"
#include "server/store/queue.h"
#include "server/store/teams.h"
#include "server/store_repository.h"
#include "server/store_verifier.h"
#include "server/token_file.h"

namespace {

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "qbench-server: %s\n", std::string(s.message()).c_str());
  return 2;
}

int Migrate(const qbench::server::ServerFlags& flags) {
  auto db = qbench::store::Db::Connect(flags.db);
  if (!db.ok()) return Fail(db.status());
  auto report = qbench::store::Migrate(**db, flags.migrations);
  if (!report.ok()) return Fail(report.status());
  std::fprintf(stderr, "qbench-server: %zu migration(s) applied, schema version %d\n", report->applied.size(),
               report->current_version);
  return 0;
}

// Creates the team when it is new and an admin token for it; the secret goes to stdout
// or to a 0600 file, never to the log.
int Bootstrap(const qbench::server::ServerFlags& flags) {
  namespace store = qbench::store;
  auto db = store::Db::Connect(flags.db);
  if (!db.ok()) return Fail(db.status());
  auto team = store::FindTeam(**db, flags.bootstrap_team);
  if (absl::IsNotFound(team.status())) team = store::CreateTeam(**db, flags.bootstrap_team, flags.bootstrap_team);
  if (!team.ok()) return Fail(team.status());
  auto token = store::CreateToken(**db, *team, "bootstrap admin", /*admin=*/true);
  if (!token.ok()) return Fail(token.status());
  if (flags.token_out.empty()) {
    std::printf("%s\n", token->plaintext.c_str());
  } else {
    const mode_t old = ::umask(077);
    std::ofstream out(flags.token_out, std::ios::trunc);
    ::umask(old);
    out << token->plaintext << "\n";
    if (!out) return Fail(absl::InvalidArgumentError("--token-out: cannot write \"" + flags.token_out + "\""));
  }
  std::fprintf(stderr, "qbench-server: admin token teams/%s/tokens/%lld created\n", flags.bootstrap_team.c_str(),
               static_cast<long long>(token->id));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace qbench::server;
  // SIGINT/SIGTERM are blocked before gRPC starts any thread (threads inherit the mask),
  // so only the stopper thread below receives them and shuts the server down cleanly.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto flags = ParseServerFlags(argc, argv);
  if (!flags.ok()) {
    std::fputs(ServerUsage().c_str(), stderr);
    return Fail(flags.status());
  }
  if (flags->help) {
    std::fputs(ServerUsage().c_str(), stdout);
    return 0;
  }
  if ((flags->migrate || !flags->bootstrap_team.empty()) && flags->db.empty())
    return Fail(absl::InvalidArgumentError("--migrate and --bootstrap-admin need --db URI"));
  if (flags->migrate) return Migrate(*flags);
  if (!flags->bootstrap_team.empty()) {
    if (!IsValidTeamId(flags->bootstrap_team))
      return Fail(absl::InvalidArgumentError("--bootstrap-admin: team ids are 3-63 characters of [a-z0-9-]"));
    return Bootstrap(*flags);
  }

  std::unique_ptr<TokenVerifier> verifier;
  std::unique_ptr<qbench::store::DbPool> pool;
  std::unique_ptr<StoreRepository> repository;
  ServerDeps deps;
  if (!flags->db.empty()) {
    auto p = qbench::store::DbPool::Create(flags->db, 16);
    if (!p.ok()) return Fail(p.status());
    pool = *std::move(p);
    verifier = std::make_unique<StoreTokenVerifier>(pool.get());
    repository = std::make_unique<StoreRepository>(pool.get(), flags->db, flags->options.data_dir + "/blobs");
    deps.jobs = repository.get();
    deps.devices = repository.get();
    deps.admin = repository.get();
    deps.blob_owners = repository.get();
  } else if (!flags->tokens_file.empty()) {
    auto v = FileTokenVerifier::Load(flags->tokens_file);
    if (!v.ok()) return Fail(v.status());
    verifier = *std::move(v);
  } else {
    return Fail(absl::InvalidArgumentError("give --db URI or --tokens-file FILE (who may call the server)"));
  }

  deps.verifier = verifier.get();
  auto server = QbServer::Start(flags->options, deps);
  if (!server.ok()) return Fail(server.status());
  std::fprintf(stderr, "qbench-server: listening on port %d (%s)\n", (*server)->port(),
               flags->options.insecure ? "plaintext" : "TLS");

  // The reaper: leases that expired go back to the queue (or fail after max attempts).
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread reaper;
  if (pool) {
    reaper = std::thread([&] {
      std::unique_lock<std::mutex> lock(mu);
      while (!cv.wait_for(lock, std::chrono::seconds(flags->reap_seconds), [&] { return stopping; })) {
        lock.unlock();
        auto report = pool->Run(&qbench::store::ReapExpired, qbench::store::RetryPolicy{});
        if (report.ok()) {
          for (int64_t id : report->requeued)
            std::fprintf(stderr, "qbench-server: jobs/%lld lease expired, queued for retry\n", static_cast<long long>(id));
          for (int64_t id : report->failed)
            std::fprintf(stderr, "qbench-server: jobs/%lld lease expired, attempts exhausted\n", static_cast<long long>(id));
        }
        lock.lock();
      }
    });
  }

  std::thread stopper([&] {
    int sig = 0;
    sigwait(&set, &sig);
    (*server)->Shutdown();
  });
  (*server)->Wait();
  stopper.join();
  {
    std::lock_guard<std::mutex> lock(mu);
    stopping = true;
  }
  cv.notify_all();
  if (reaper.joinable()) reaper.join();
  return 0;
}
