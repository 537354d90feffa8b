// The blob client against the real qbench-server (in-process, loopback): uploads with
// dedup and resume, downloads with resume and verification, errors passed through.
#include "client/blob_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "client/test_server.h"
#include "common/sha256.h"
#include "qbench/v1/qbench.grpc.pb.h"

namespace qbench::client {
namespace {

namespace fs = std::filesystem;
namespace v1 = qbench::v1;
using data::test_util::ReadBytes;
using data::test_util::TempDir;
using data::test_util::WriteText;
using ::testing::HasSubstr;
using testing::TestServer;

constexpr int64_t kMiB = 1 << 20;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::string ReadText(const std::string& path) {
  const auto b = ReadBytes(path);
  return std::string(b.begin(), b.end());
}

struct Progress {
  std::vector<std::pair<int64_t, int64_t>> calls;
  ProgressFn fn() {
    return [this](int64_t done, int64_t total) { calls.emplace_back(done, total); };
  }
};

class BlobClientTest : public ::testing::Test {
 protected:
  TestServer server_;
  TempDir dir_;
};

TEST_F(BlobClientTest, UploadDeduplicatesAndDownloadRoundTrips) {
  const std::string content = RandomBytes(3 * kMiB + 12345, 1);
  const std::string path = dir_.File("model.onnx");
  WriteText(path, content);
  Progress p;
  auto r = UploadFile(server_.connection(), path, p.fn());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->sha256, Sha256Hex(content));
  EXPECT_EQ(r->size, static_cast<int64_t>(content.size()));
  EXPECT_FALSE(r->deduplicated);
  EXPECT_EQ(r->sent_bytes, r->size);
  ASSERT_FALSE(p.calls.empty());
  EXPECT_EQ(p.calls.back(), std::make_pair(r->size, r->size));
  for (size_t i = 1; i < p.calls.size(); ++i) EXPECT_LE(p.calls[i - 1].first, p.calls[i].first);

  auto again = UploadFile(server_.connection(), path);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->deduplicated);
  EXPECT_EQ(again->sent_bytes, 0);
  EXPECT_EQ(again->sha256, r->sha256);

  const std::string dest = dir_.path() + "/copy.onnx";
  absl::Status s = DownloadBlob(server_.connection(), r->sha256, dest);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(ReadText(dest), content);
  EXPECT_FALSE(fs::exists(dest + ".partial"));
}

TEST_F(BlobClientTest, UploadResumesFromWhatTheServerHolds) {
  const std::string content = RandomBytes(3 * kMiB, 2);
  const std::string sha = Sha256Hex(content);
  // Another client sent the first MiB and went away.
  {
    auto stub = v1::Blobs::NewStub(MakeChannel(server_.connection()));
    grpc::ClientContext ctx;
    Authorize(&ctx, server_.connection());
    v1::UploadResponse resp;
    auto writer = stub->Upload(&ctx, &resp);
    v1::UploadRequest req;
    req.mutable_header()->set_sha256(sha);
    req.mutable_header()->set_size_bytes(static_cast<int64_t>(content.size()));
    req.set_data(content.substr(0, kMiB));
    ASSERT_TRUE(writer->Write(req));
    writer->WritesDone();
    EXPECT_FALSE(writer->Finish().ok());  // the stream ended early
  }
  const std::string path = dir_.File("big.bin");
  WriteText(path, content);
  Progress p;
  auto r = UploadFile(server_.connection(), path, p.fn());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->deduplicated);
  EXPECT_EQ(r->sent_bytes, 2 * kMiB);  // only what the server lacked
  EXPECT_EQ(p.calls.front().first, kMiB);
  const std::string dest = dir_.path() + "/back.bin";
  ASSERT_TRUE(DownloadBlob(server_.connection(), sha, dest).ok());
  EXPECT_EQ(ReadText(dest), content);
}

TEST_F(BlobClientTest, DownloadResumesAValidPartialAndReplacesABadOne) {
  const std::string content = RandomBytes(2 * kMiB + 777, 3);
  const std::string path = dir_.File("m.bin");
  WriteText(path, content);
  auto r = UploadFile(server_.connection(), path);
  ASSERT_TRUE(r.ok()) << r.status();
  const std::string dest = dir_.path() + "/d.bin";

  // A valid prefix: only the rest is fetched (progress starts past it).
  WriteText(dest + ".partial", content.substr(0, kMiB + 5));
  Progress p;
  ASSERT_TRUE(DownloadBlob(server_.connection(), r->sha256, dest, p.fn()).ok());
  EXPECT_EQ(ReadText(dest), content);
  ASSERT_FALSE(p.calls.empty());
  EXPECT_GT(p.calls.front().first, kMiB + 5);
  EXPECT_EQ(p.calls.back().first, static_cast<int64_t>(content.size()));

  // A partial that is not a prefix of the blob: detected by the digest, refetched whole.
  fs::remove(dest);
  WriteText(dest + ".partial", std::string(1000, 'x'));
  absl::Status s = DownloadBlob(server_.connection(), r->sha256, dest);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(ReadText(dest), content);

  // A partial longer than the blob: the server rejects the offset; refetched whole.
  fs::remove(dest);
  WriteText(dest + ".partial", content + "trailing");
  s = DownloadBlob(server_.connection(), r->sha256, dest);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(ReadText(dest), content);
}

TEST_F(BlobClientTest, ErrorsPassThroughWithTheServersMessage) {
  const std::string dest = dir_.path() + "/nothing";
  const std::string unknown(64, 'a');
  absl::Status s = DownloadBlob(server_.connection(), unknown, dest);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(unknown));
  EXPECT_FALSE(fs::exists(dest));
  EXPECT_FALSE(fs::exists(dest + ".partial"));

  s = DownloadBlob(server_.connection(), "ABC", dest);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"ABC\""));

  const std::string path = dir_.File("f.bin");
  WriteText(path, "content");
  auto r = UploadFile(server_.connection("wrong-token"), path);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(r.status().message()), ::testing::Not(HasSubstr("wrong-token")));

  r = UploadFile(server_.connection(), dir_.path() + "/missing.bin");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  WriteText(dir_.File("empty"), "");
  r = UploadFile(server_.connection(), dir_.path() + "/empty");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(BlobClientTest, UnreachableServerIsUnavailableAfterRetries) {
  Connection c = server_.connection();
  server_.Shutdown();
  const std::string path = dir_.File("f.bin");
  WriteText(path, "content");
  auto r = UploadFile(c, path);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  absl::Status s = DownloadBlob(c, Sha256Hex("content"), dir_.path() + "/x");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
}

TEST(BlobClientTlsTest, UploadsOverTlsWithTheGivenRoots) {
  TestServer server(TestServer::Options{.with_jobs = false, .tls = true});
  TempDir dir;
  const std::string path = dir.File("f.bin");
  WriteText(path, RandomBytes(5000, 4));
  auto r = UploadFile(server.connection(), path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->deduplicated);

  Connection no_ca = server.connection();
  no_ca.ca_file = dir.path() + "/no-such-ca.pem";
  r = UploadFile(no_ca, path);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("no-such-ca.pem"));
  // MakeChannel alone (no CheckConnection) must fail closed, not trust other roots.
  auto stub = v1::Blobs::NewStub(MakeChannel(no_ca));
  grpc::ClientContext ctx;
  Authorize(&ctx, no_ca);
  v1::GetUploadStatusRequest req;
  req.set_sha256(r.ok() ? "" : Sha256Hex("x"));
  req.set_size_bytes(1);
  v1::UploadStatus st;
  EXPECT_FALSE(stub->GetUploadStatus(&ctx, req, &st).ok());

  Connection plain = server.connection();
  plain.insecure = true;  // plaintext to a TLS port
  r = UploadFile(plain, path);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
}

}  // namespace
}  // namespace qbench::client
