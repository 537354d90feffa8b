// The server authenticating against the PostgreSQL store: a real throwaway PostgreSQL
// cluster (migrated with the repository's migrations), a team and a token created through
// the store, and the real server on loopback. A valid token passes authentication, a
// revoked or unknown one is UNAUTHENTICATED.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

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

}  // namespace
}  // namespace qbench::server
