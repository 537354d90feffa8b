// The server authenticating against the PostgreSQL store: a real throwaway PostgreSQL
// cluster (migrated with the repository's migrations), a team and a token created through
// the store, and the real server on loopback. A valid token passes authentication, a
// revoked or unknown one is UNAUTHENTICATED.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "qbench/v1/qbench.grpc.pb.h"
#include "server/server.h"
#include "server/store/migrate.h"
#include "server/store/pool.h"
#include "server/store/teams.h"
#include "server/store_verifier.h"
#include "tests/pg_test_util.h"
#include "tests/test_paths.h"

namespace qbench::server {
namespace {

grpc::StatusCode GetJobCode(v1::Jobs::Stub& jobs, const std::string& token) {
  grpc::ClientContext ctx;
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::GetJobRequest req;
  req.set_name("jobs/1");
  v1::Job job;
  return jobs.GetJob(&ctx, req, &job).error_code();
}

TEST(ServerStoreTest, TokensAreVerifiedByTheStore) {
  auto cluster = qbench::testing::PgTestCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto db = store::Db::Connect((*cluster)->Uri());
  ASSERT_TRUE(db.ok()) << db.status();
  auto migrated = store::Migrate(**db, qbench::testing::SourceDir() + "/migrations");
  ASSERT_TRUE(migrated.ok()) << migrated.status();
  auto team = store::CreateTeam(**db, "acme");
  ASSERT_TRUE(team.ok()) << team.status();
  auto token = store::CreateToken(**db, *team, "ci");
  ASSERT_TRUE(token.ok()) << token.status();

  auto pool = store::DbPool::Create((*cluster)->Uri(), 2);
  ASSERT_TRUE(pool.ok()) << pool.status();
  StoreTokenVerifier verifier(pool->get());
  const std::string dir = ::testing::TempDir() + "/server_store_test";
  std::filesystem::create_directories(dir);
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.insecure = true;
  options.data_dir = dir;
  ServerDeps deps;
  deps.verifier = &verifier;
  auto server = QbServer::Start(options, deps);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string((*server)->port()), grpc::InsecureChannelCredentials());
  auto jobs = v1::Jobs::NewStub(channel);

  // Authenticated: the call gets past authentication (the job store is not wired yet).
  const grpc::StatusCode ok_code = GetJobCode(*jobs, token->plaintext);
  EXPECT_NE(ok_code, grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(GetJobCode(*jobs, ""), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(GetJobCode(*jobs, token->plaintext + "x"), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(store::RevokeToken(**db, token->id).ok());
  EXPECT_EQ(GetJobCode(*jobs, token->plaintext), grpc::StatusCode::UNAUTHENTICATED);
  (*server)->Shutdown();
  std::filesystem::remove_all(dir);
}

// The explicit migrate command: applies, is a no-op the second time, fails clearly on a
// missing directory.
TEST(ServerStoreTest, MigrateCommand) {
  auto cluster = qbench::testing::PgTestCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  const std::string base = std::string(QB_SERVER_BINARY) + " --db '" + (*cluster)->Uri() + "' --migrate";
  const std::string dir = " --migrations " + qbench::testing::SourceDir() + "/migrations";
  EXPECT_EQ(std::system((base + dir + " 2>/dev/null").c_str()), 0);
  EXPECT_EQ(std::system((base + dir + " 2>/dev/null").c_str()), 0);
  EXPECT_NE(std::system((base + " --migrations /nonexistent 2>/dev/null").c_str()), 0);
  auto db = store::Db::Connect((*cluster)->Uri());
  ASSERT_TRUE(db.ok());
  auto again = store::Migrate(**db, qbench::testing::SourceDir() + "/migrations");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->applied.empty());  // the command already applied everything
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The compose deployment's one-shot: --bootstrap-admin with --token-out and
// --worker-token-out makes an admin token and a worker-role token, each in a 0600 file; a
// file that already holds a token is kept (the one-shot runs on every `up`), and a missing
// one is made again alone.
TEST(ServerStoreTest, BootstrapMakesAdminAndWorkerTokensOnce) {
  auto cluster = qbench::testing::PgTestCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  const std::string bin = std::string(QB_SERVER_BINARY) + " --db '" + (*cluster)->Uri() + "'";
  ASSERT_EQ(std::system((bin + " --migrate --migrations " + qbench::testing::SourceDir() + "/migrations 2>/dev/null").c_str()), 0);
  const std::string dir = ::testing::TempDir() + "/bootstrap_tokens";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string admin = dir + "/admin.token", worker = dir + "/worker.token";
  const std::string boot = bin + " --bootstrap-admin lab --token-out " + admin + " --worker-token-out " + worker + " 2>/dev/null";
  ASSERT_EQ(std::system(boot.c_str()), 0);
  const std::string a1 = Slurp(admin), w1 = Slurp(worker);
  ASSERT_FALSE(a1.empty());
  ASSERT_FALSE(w1.empty());
  EXPECT_NE(a1, w1);
  for (const auto& f : {admin, worker})
    EXPECT_EQ(std::filesystem::status(f).permissions() & std::filesystem::perms::all, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write) << f;
  auto db = store::Db::Connect((*cluster)->Uri());
  ASSERT_TRUE(db.ok());
  auto trim = [](std::string s) { return s.substr(0, s.find_last_not_of("\n") + 1); };
  auto ao_or = store::VerifyTokenOwner(**db, trim(a1));
  ASSERT_TRUE(ao_or.ok()) << ao_or.status();
  const store::TokenOwner& ao = *ao_or;
  auto wo_or = store::VerifyTokenOwner(**db, trim(w1));
  ASSERT_TRUE(wo_or.ok()) << wo_or.status();
  const store::TokenOwner& wo = *wo_or;
  EXPECT_TRUE(ao.admin);
  EXPECT_FALSE(ao.worker);
  EXPECT_TRUE(wo.worker);
  EXPECT_FALSE(wo.admin);
  EXPECT_EQ(ao.team_name, "lab");
  EXPECT_EQ(wo.team_name, "lab");

  // Again: both files kept, no token made.
  ASSERT_EQ(std::system(boot.c_str()), 0);
  EXPECT_EQ(Slurp(admin), a1);
  EXPECT_EQ(Slurp(worker), w1);
  // The worker token lost (an older deployment had none): only it is made again.
  std::filesystem::remove(worker);
  ASSERT_EQ(std::system(boot.c_str()), 0);
  EXPECT_EQ(Slurp(admin), a1);
  const std::string w2 = Slurp(worker);
  ASSERT_FALSE(w2.empty());
  EXPECT_NE(w2, w1);
  auto wo2_or = store::VerifyTokenOwner(**db, trim(w2));
  ASSERT_TRUE(wo2_or.ok()) << wo2_or.status();
  const store::TokenOwner& wo2 = *wo2_or;
  EXPECT_TRUE(wo2.worker);
  // Without --token-out the admin token is printed each time, as before.
  EXPECT_EQ(std::system((bin + " --bootstrap-admin lab >/dev/null 2>&1").c_str()), 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace qbench::server
