// Issue 17, finding 4: one team cannot take another's blobs. Through the real server
// (in-process, loopback) with the real PostgreSQL store (a throwaway cluster, migrated)
// and two teams:
//   - a digest and size are not ownership: GetUploadStatus and a header-only Upload of a
//     stored blob grant nothing; a team holds a blob only by uploading its bytes;
//   - no size oracle: a wrong size is answered like an unknown blob, never with the real
//     size;
//   - partial uploads are private: another team neither sees nor truncates them;
//   - abandoned partial uploads are cleaned up.
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "client/blob_client.h"
#include "common/sha256.h"
#include "qbench/v1/qbench.grpc.pb.h"
#include "server/blob_store.h"
#include "server/server.h"
#include "server/store/migrate.h"
#include "server/store/pool.h"
#include "server/store/teams.h"
#include "server/store_repository.h"
#include "server/store_verifier.h"
#include "tests/pg_test_util.h"
#include "tests/test_paths.h"
#include "engine/data/test_util.h"

namespace qbench::server {
namespace {

namespace fs = std::filesystem;
namespace v1 = qbench::v1;
using data::test_util::TempDir;

constexpr int64_t kMiB = 1 << 20;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

class BlobSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = qbench::testing::SharedPgCluster();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    static int n = 0;
    const std::string dbname = "blobsec" + std::to_string(::getpid()) + "_" + std::to_string(n++);
    ASSERT_TRUE((*cluster)->CreateDatabase(dbname).ok());
    const std::string uri = (*cluster)->Uri(dbname);
    auto db = store::Db::Connect(uri);
    ASSERT_TRUE(db.ok()) << db.status();
    auto migrated = store::Migrate(**db, qbench::testing::SourceDir() + "/migrations");
    ASSERT_TRUE(migrated.ok()) << migrated.status();
    for (const char* team : {"alpha", "beta"}) {
      auto id = store::CreateTeam(**db, team);
      ASSERT_TRUE(id.ok()) << id.status();
      auto token = store::CreateToken(**db, *id, "ci");
      ASSERT_TRUE(token.ok()) << token.status();
      tokens_[team] = token->plaintext;
    }
    auto pool = store::DbPool::Create(uri, 4);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
    verifier_ = std::make_unique<StoreTokenVerifier>(pool_.get());
    repo_ = std::make_unique<StoreRepository>(pool_.get(), uri, dir_.path() + "/blobs");
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.insecure = true;
    options.data_dir = dir_.path();
    ServerDeps deps;
    deps.verifier = verifier_.get();
    deps.jobs = repo_.get();
    deps.blob_owners = repo_.get();
    auto server = QbServer::Start(options, deps);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    address_ = "127.0.0.1:" + std::to_string(server_->port());
    stub_ = v1::Blobs::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  client::Connection Conn(const std::string& team) const { return {address_, true, "", tokens_.at(team)}; }

  void Auth(grpc::ClientContext* ctx, const std::string& team) {
    ctx->AddMetadata("authorization", "Bearer " + tokens_.at(team));
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  }

  grpc::Status Status(const std::string& team, const std::string& sha, int64_t size, v1::UploadStatus* st) {
    grpc::ClientContext ctx;
    Auth(&ctx, team);
    v1::GetUploadStatusRequest req;
    req.set_sha256(sha);
    req.set_size_bytes(size);
    return stub_->GetUploadStatus(&ctx, req, st);
  }

  // An Upload call with `data` from `offset`, in 1 MiB chunks (the client closes after them).
  grpc::Status Upload(const std::string& team, const std::string& sha, int64_t size, int64_t offset,
                      const std::string& data, v1::UploadResponse* response) {
    grpc::ClientContext ctx;
    Auth(&ctx, team);
    auto writer = stub_->Upload(&ctx, response);
    v1::UploadRequest req;
    req.mutable_header()->set_sha256(sha);
    req.mutable_header()->set_size_bytes(size);
    req.mutable_header()->set_offset(offset);
    if (data.empty()) {
      writer->Write(req);
    } else {
      for (size_t pos = 0; pos < data.size(); pos += kMiB) {
        req.set_data(data.substr(pos, kMiB));
        if (!writer->Write(req)) break;
        req.clear_header();
      }
    }
    writer->WritesDone();
    return writer->Finish();
  }

  grpc::Status Download(const std::string& team, const std::string& sha, std::string* out) {
    grpc::ClientContext ctx;
    Auth(&ctx, team);
    v1::DownloadRequest req;
    req.set_name("blobs/" + sha);
    auto reader = stub_->Download(&ctx, req);
    v1::DownloadResponse chunk;
    while (reader->Read(&chunk)) out->append(chunk.data());
    return reader->Finish();
  }

  // Team alpha's model, uploaded through the real client.
  std::pair<std::string, std::string> AlphaUploads(size_t n = 2 * kMiB + 77) {
    const std::string content = RandomBytes(n, 42);
    const std::string path = dir_.File("alpha-model.onnx");
    data::test_util::WriteText(path, content);
    auto r = client::UploadFile(Conn("alpha"), path);
    EXPECT_TRUE(r.ok()) << r.status();
    return {Sha256Hex(content), content};
  }

  TempDir dir_;
  std::map<std::string, std::string> tokens_;
  std::unique_ptr<store::DbPool> pool_;
  std::unique_ptr<StoreTokenVerifier> verifier_;
  std::unique_ptr<StoreRepository> repo_;
  std::unique_ptr<QbServer> server_;
  std::string address_;
  std::unique_ptr<v1::Blobs::Stub> stub_;
};

TEST_F(BlobSecurityTest, ADigestAndSizeAreNotOwnership) {
  const auto [sha, content] = AlphaUploads();
  const int64_t size = static_cast<int64_t>(content.size());
  v1::UploadStatus st;
  ASSERT_TRUE(Status("beta", sha, size, &st).ok());
  EXPECT_FALSE(st.complete()) << "beta is told it holds alpha's blob";
  EXPECT_EQ(st.committed_bytes(), 0);
  std::string got;
  EXPECT_EQ(Download("beta", sha, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(got.empty());
  // Alpha, the uploader, holds it.
  ASSERT_TRUE(Status("alpha", sha, size, &st).ok());
  EXPECT_TRUE(st.complete());
}

TEST_F(BlobSecurityTest, AHeaderWithoutTheBytesIsNotOwnership) {
  const auto [sha, content] = AlphaUploads();
  const int64_t size = static_cast<int64_t>(content.size());
  v1::UploadResponse response;
  grpc::Status s = Upload("beta", sha, size, 0, "", &response);
  EXPECT_FALSE(s.ok() && response.deduplicated()) << "a header alone was taken as the upload";
  std::string got;
  EXPECT_EQ(Download("beta", sha, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  // Wrong bytes do not help either.
  response.Clear();
  s = Upload("beta", sha, size, 0, std::string(content.size(), 'x'), &response);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(Download("beta", sha, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  // Uploading the real bytes is: beta sends every byte, and then holds the blob.
  const std::string path = dir_.File("beta-copy.onnx");
  data::test_util::WriteText(path, content);
  auto r = client::UploadFile(Conn("beta"), path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->sent_bytes, size);
  ASSERT_TRUE(Download("beta", sha, &got).ok());
  EXPECT_EQ(got, content);
}

TEST_F(BlobSecurityTest, AWrongSizeIsNotAnsweredWithTheRealOne) {
  const auto [sha, content] = AlphaUploads();
  const int64_t size = static_cast<int64_t>(content.size());
  for (const char* team : {"beta", "alpha"}) {
    v1::UploadStatus st;
    grpc::Status s = Status(team, sha, size + 1, &st);
    EXPECT_EQ(s.error_message().find(std::to_string(size)), std::string::npos) << s.error_message();
    if (s.ok()) {
      EXPECT_FALSE(st.complete());
      EXPECT_EQ(st.committed_bytes(), 0);
    }
  }
  // An unknown digest and a wrong size look the same.
  v1::UploadStatus known, unknown;
  ASSERT_TRUE(Status("beta", sha, size + 1, &known).ok());
  ASSERT_TRUE(Status("beta", Sha256Hex("nothing"), size + 1, &unknown).ok());
  EXPECT_EQ(known.SerializeAsString(), unknown.SerializeAsString());
}

TEST_F(BlobSecurityTest, PartialUploadsArePrivateToTheUploadingTeam) {
  const std::string content = RandomBytes(3 * kMiB, 7);
  const std::string sha = Sha256Hex(content);
  const int64_t size = static_cast<int64_t>(content.size());
  v1::UploadResponse response;
  grpc::Status s = Upload("alpha", sha, size, 0, content.substr(0, kMiB), &response);  // then alpha goes away
  EXPECT_FALSE(s.ok());  // the stream ended early
  v1::UploadStatus st;
  ASSERT_TRUE(Status("alpha", sha, size, &st).ok());
  ASSERT_EQ(st.committed_bytes(), kMiB);

  // Beta sees nothing of it, and its own restart at offset 0 does not truncate alpha's.
  ASSERT_TRUE(Status("beta", sha, size, &st).ok());
  EXPECT_EQ(st.committed_bytes(), 0) << "beta sees alpha's partial upload";
  s = Upload("beta", sha, size, 0, std::string(100, 'z'), &response);
  EXPECT_FALSE(s.ok());
  ASSERT_TRUE(Status("alpha", sha, size, &st).ok());
  EXPECT_EQ(st.committed_bytes(), kMiB) << "beta truncated alpha's partial upload";

  // Alpha resumes where it was and completes.
  response.Clear();
  s = Upload("alpha", sha, size, kMiB, content.substr(kMiB), &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::string got;
  ASSERT_TRUE(Download("alpha", sha, &got).ok());
  EXPECT_EQ(got, content);
}

// The blob store alone: abandoned partial uploads go after their age; live ones stay.
TEST(BlobStoreCleanupTest, AbandonedPartialUploadsAreDeleted) {
  TempDir dir;
  BlobStoreOptions o;
  o.partial_max_age_seconds = 3600;
  auto store = BlobStore::Open(dir.path(), o);
  ASSERT_TRUE(store.ok()) << store.status();
  const std::string content = RandomBytes(1000, 3), sha = Sha256Hex(content);
  {
    auto w = (*store)->BeginUpload("alpha", sha, 1000, 0);
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE((*w)->Append(content.substr(0, 400)).ok());
  }  // abandoned
  auto live = (*store)->BeginUpload("beta", sha, 1000, 0);
  ASSERT_TRUE(live.ok()) << live.status();
  ASSERT_TRUE((*live)->Append(content.substr(0, 10)).ok());
  EXPECT_EQ((*store)->CleanAbandonedUploads(3600), 0);  // young
  EXPECT_EQ((*store)->CleanAbandonedUploads(0), 1);     // alpha's; beta's has a writer
  EXPECT_EQ((*store)->GetUploadState("alpha", sha, 1000)->committed, 0);
  EXPECT_EQ((*store)->GetUploadState("beta", sha, 1000)->committed, 10);
}

TEST(BlobStoreCleanupTest, PartialUploadsPerTeamAreCapped) {
  TempDir dir;
  BlobStoreOptions o;
  o.max_partial_bytes_per_team = 1500;
  auto store = BlobStore::Open(dir.path(), o);
  ASSERT_TRUE(store.ok()) << store.status();
  {
    auto w = (*store)->BeginUpload("alpha", Sha256Hex("a"), 1000, 0);
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE((*w)->Append(std::string(900, 'a')).ok());
  }
  auto second = (*store)->BeginUpload("alpha", Sha256Hex("b"), 1000, 0);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kResourceExhausted) << second.status();
  EXPECT_TRUE((*store)->BeginUpload("beta", Sha256Hex("b"), 1000, 0).ok());  // per team
}

}  // namespace
}  // namespace qbench::server
