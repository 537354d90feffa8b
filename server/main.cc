// qbench-server: the QBench gRPC API. Tokens are verified by the PostgreSQL store (--db)
// or read from --tokens-file; `--db URI --migrate` applies the migrations and exits. The
// Jobs, Devices and Admin methods validate requests and answer UNIMPLEMENTED until their
// store adapters land; Blobs works fully on --data-dir.
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

#include "server/flags.h"
#include "server/server.h"
#include "server/store/migrate.h"
#include "server/store/pool.h"
#include "server/store_verifier.h"
#include "server/token_file.h"

namespace {

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "qbench-server: %s\n", std::string(s.message()).c_str());
  return 2;
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
  if (flags->migrate) {
    if (flags->db.empty()) return Fail(absl::InvalidArgumentError("--migrate needs --db URI"));
    auto db = qbench::store::Db::Connect(flags->db);
    if (!db.ok()) return Fail(db.status());
    auto report = qbench::store::Migrate(**db, flags->migrations);
    if (!report.ok()) return Fail(report.status());
    std::fprintf(stderr, "qbench-server: %zu migration(s) applied, schema version %d\n", report->applied.size(),
                 report->current_version);
    return 0;
  }
  std::unique_ptr<TokenVerifier> verifier;
  std::unique_ptr<qbench::store::DbPool> pool;
  if (!flags->db.empty()) {
    auto p = qbench::store::DbPool::Create(flags->db, 8);
    if (!p.ok()) return Fail(p.status());
    pool = *std::move(p);
    verifier = std::make_unique<StoreTokenVerifier>(pool.get());
  } else if (!flags->tokens_file.empty()) {
    auto v = FileTokenVerifier::Load(flags->tokens_file);
    if (!v.ok()) return Fail(v.status());
    verifier = *std::move(v);
  } else {
    return Fail(absl::InvalidArgumentError("give --db URI or --tokens-file FILE (who may call the server)"));
  }

  ServerDeps deps;
  deps.verifier = verifier.get();
  auto server = QbServer::Start(flags->options, deps);
  if (!server.ok()) return Fail(server.status());
  std::fprintf(stderr, "qbench-server: listening on port %d (%s)\n", (*server)->port(),
               flags->options.insecure ? "plaintext" : "TLS");

  std::thread stopper([&] {
    int sig = 0;
    sigwait(&set, &sig);
    (*server)->Shutdown();
  });
  (*server)->Wait();
  stopper.join();
  return 0;
}
