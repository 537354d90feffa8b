// qbench-server: the QBench gRPC API. Until the PostgreSQL store is wired in, tokens come
// from --tokens-file and the Jobs, Devices and Admin methods validate requests and answer
// UNIMPLEMENTED; Blobs works fully on --data-dir.
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

#include "server/flags.h"
#include "server/server.h"
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
  if (flags->tokens_file.empty()) return Fail(absl::InvalidArgumentError("--tokens-file: is required"));
  auto verifier = FileTokenVerifier::Load(flags->tokens_file);
  if (!verifier.ok()) return Fail(verifier.status());

  ServerDeps deps;
  deps.verifier = verifier->get();
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
