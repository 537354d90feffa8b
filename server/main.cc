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
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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

// A token file that already holds something is kept: the compose one-shot runs on every
// `up`, and a second admin token per `up` would pile up unused secrets.
bool HoldsToken(const std::string& path) {
  std::error_code ec;
  return !path.empty() && std::filesystem::is_regular_file(path, ec) && std::filesystem::file_size(path, ec) > 0;
}

// Writes a secret to a new 0600 file.
absl::Status WriteSecret(const std::string& flag, const std::string& path, const std::string& secret) {
  const mode_t old = ::umask(077);
  std::ofstream out(path, std::ios::trunc);
  ::umask(old);
  out << secret << "\n";
  out.close();
  if (!out) return absl::InvalidArgumentError(flag + ": cannot write \"" + path + "\"");
  return absl::OkStatus();
}

// Creates the team when it is new, an admin token for it (to stdout, or to --token-out
// unless that file holds one) and, with --worker-token-out, a worker-role token (unless
// that file holds one). Secrets never go to the log.
int Bootstrap(const qbench::server::ServerFlags& flags) {
  namespace store = qbench::store;
  struct Want {
    const char* flag;
    std::string path;
    store::TokenRole role;
    const char* name;
  };
  std::vector<Want> wanted;
  if (!HoldsToken(flags.token_out)) wanted.push_back({"--token-out", flags.token_out, store::TokenRole::kAdmin, "bootstrap admin"});
  if (!flags.worker_token_out.empty() && !HoldsToken(flags.worker_token_out))
    wanted.push_back({"--worker-token-out", flags.worker_token_out, store::TokenRole::kWorker, "bootstrap worker"});
  if (wanted.empty()) {
    std::fprintf(stderr, "qbench-server: the token files exist; no new token\n");
    return 0;
  }
  auto db = store::Db::Connect(flags.db);
  if (!db.ok()) return Fail(db.status());
  auto team = store::FindTeam(**db, flags.bootstrap_team);
  if (absl::IsNotFound(team.status())) team = store::CreateTeam(**db, flags.bootstrap_team, flags.bootstrap_team);
  if (!team.ok()) return Fail(team.status());
  for (const Want& w : wanted) {
    auto token = store::CreateToken(**db, *team, w.name, w.role);
    if (!token.ok()) return Fail(token.status());
    if (w.path.empty()) {
      std::printf("%s\n", token->plaintext.c_str());
    } else if (absl::Status s = WriteSecret(w.flag, w.path, token->plaintext); !s.ok()) {
      return Fail(s);
    }
    std::fprintf(stderr, "qbench-server: %s token teams/%s/tokens/%lld created\n",
                 w.role == store::TokenRole::kAdmin ? "admin" : "worker", flags.bootstrap_team.c_str(),
                 static_cast<long long>(token->id));
  }
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
