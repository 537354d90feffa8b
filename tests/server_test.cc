// Starts the real qbench-server in-process on a loopback port (plaintext) and drives it
// through its gRPC API: health, reflection, authentication, blob upload/download with
// dedup, resume and digest checks, and CreateJob validation.
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/byte_buffer.h>
#include <gtest/gtest.h>
#include <gmock/gmock.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "qbench/v1/qbench.grpc.pb.h"
#include "server/flags.h"
#include "server/job_validation.h"
#include "server/server.h"
#include "tests/tls_test_util.h"
#include "common/sha256.h"

namespace qbench::server {
namespace {

namespace v1 = qbench::v1;
constexpr int64_t kMiB = 1 << 20;

// The test double: tokens in clear, in memory.
class FakeVerifier : public TokenVerifier {
 public:
  absl::StatusOr<Principal> Verify(const std::string& token) const override {
    if (token == "acme-token") return Principal{"acme", false};
    return absl::UnauthenticatedError("unknown token");
  }
};

struct RawResult {
  grpc::Status status;
  std::vector<std::string> messages;
};

// One call with serialized bytes (no generated stubs needed: Debian ships none for
// health and reflection): writes `request`, closes, reads every response.
RawResult RawCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method, const std::string& request) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::CompletionQueue cq;
  void* tag = nullptr;
  bool ok = false;
  auto call = stub.PrepareCall(&ctx, method, &cq);
  call->StartCall(reinterpret_cast<void*>(1));
  cq.Next(&tag, &ok);
  grpc::Slice slice(request);
  grpc::ByteBuffer out(&slice, 1);
  call->Write(out, reinterpret_cast<void*>(2));
  cq.Next(&tag, &ok);
  call->WritesDone(reinterpret_cast<void*>(3));
  cq.Next(&tag, &ok);
  RawResult r;
  for (;;) {
    grpc::ByteBuffer in;
    call->Read(&in, reinterpret_cast<void*>(4));
    cq.Next(&tag, &ok);
    if (!ok) break;
    std::vector<grpc::Slice> slices;
    (void)in.Dump(&slices);
    std::string msg;
    for (const auto& s : slices) msg.append(reinterpret_cast<const char*>(s.begin()), s.size());
    r.messages.push_back(msg);
  }
  call->Finish(&r.status, reinterpret_cast<void*>(5));
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return r;
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qb_server_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.insecure = true;
    options.data_dir = dir_;
    options.job_limits.shared_roots = {"/lab"};  // the specs below name /lab/... (checked lexically)
    options.max_upload_bytes = 8 * kMiB;
    ServerDeps deps;
    deps.verifier = &verifier_;
    auto server = QbServer::Start(options, deps);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials());
    blobs_ = v1::Blobs::NewStub(channel_);
    jobs_ = v1::Jobs::NewStub(channel_);
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Auth(grpc::ClientContext* ctx, const std::string& token = "acme-token") {
    ctx->AddMetadata("authorization", "Bearer " + token);  // keys must be lower case
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  }

  // Uploads `data[offset:]` in 1 MiB chunks declaring `sha256`; the header rides in the
  // first message. With `close_early`, stops after the first chunk.
  grpc::Status Upload(const std::string& data, const std::string& sha256, v1::UploadResponse* response,
                      int64_t offset = 0, bool close_early = false) {
    grpc::ClientContext ctx;
    Auth(&ctx);
    auto writer = blobs_->Upload(&ctx, response);
    v1::UploadRequest req;
    req.mutable_header()->set_sha256(sha256);
    req.mutable_header()->set_size_bytes(static_cast<int64_t>(data.size()));
    req.mutable_header()->set_offset(offset);
    for (int64_t pos = offset; pos < static_cast<int64_t>(data.size()); pos += kMiB) {
      req.set_data(data.substr(pos, kMiB));
      if (!writer->Write(req)) break;  // the server finished early (an error or dedup)
      req.clear_header();
      if (close_early) break;
    }
    writer->WritesDone();
    return writer->Finish();
  }

  std::string Download(const std::string& name, grpc::Status* status) {
    grpc::ClientContext ctx;
    Auth(&ctx);
    v1::DownloadRequest req;
    req.set_name(name);
    auto reader = blobs_->Download(&ctx, req);
    v1::DownloadResponse chunk;
    std::string out;
    while (reader->Read(&chunk)) {
      EXPECT_EQ(chunk.offset(), static_cast<int64_t>(out.size()));
      EXPECT_LE(static_cast<int64_t>(chunk.data().size()), kMiB);
      out += chunk.data();
    }
    *status = reader->Finish();
    return out;
  }

  v1::UploadStatus Status(const std::string& sha256, int64_t size) {
    grpc::ClientContext ctx;
    Auth(&ctx);
    v1::GetUploadStatusRequest req;
    req.set_sha256(sha256);
    req.set_size_bytes(size);
    v1::UploadStatus st;
    EXPECT_TRUE(blobs_->GetUploadStatus(&ctx, req, &st).ok());
    return st;
  }

  grpc::Status CreateJob(const std::string& spec_json) {
    grpc::ClientContext ctx;
    Auth(&ctx);
    v1::CreateJobRequest req;
    req.set_spec_json(spec_json);
    v1::Job job;
    return jobs_->CreateJob(&ctx, req, &job);
  }

  bool Serving() {
    RawResult r = RawCall(channel_, "/grpc.health.v1.Health/Check", "");
    // HealthCheckResponse{status: SERVING}: field 1, varint 1.
    return r.status.ok() && r.messages.size() == 1 && r.messages[0] == std::string("\x08\x01", 2);
  }

  FakeVerifier verifier_;
  std::string dir_;
  std::unique_ptr<QbServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Blobs::Stub> blobs_;
  std::unique_ptr<v1::Jobs::Stub> jobs_;
};

TEST_F(ServerTest, HealthIsServing) { EXPECT_TRUE(Serving()); }

TEST_F(ServerTest, ReflectionListsServices) {
  // ServerReflectionRequest{list_services: ""}: field 7, length-delimited, empty.
  RawResult r = RawCall(channel_, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                        std::string("\x3a\x00", 2));
  ASSERT_TRUE(r.status.ok()) << r.status.error_code() << " " << r.status.error_message();
  ASSERT_EQ(r.messages.size(), 1u);
  for (const char* service : {"qbench.v1.Blobs", "qbench.v1.Jobs", "qbench.v1.Devices", "qbench.v1.Admin",
                              "grpc.health.v1.Health"})
    EXPECT_NE(r.messages[0].find(service), std::string::npos) << service;
}

TEST_F(ServerTest, NoTokenIsUnauthenticated) {
  grpc::ClientContext ctx;
  v1::GetJobRequest req;
  req.set_name("jobs/1");
  v1::Job job;
  EXPECT_EQ(jobs_->GetJob(&ctx, req, &job).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  grpc::ClientContext upload_ctx;
  v1::UploadResponse resp;
  auto writer = blobs_->Upload(&upload_ctx, &resp);
  writer->WritesDone();
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(ServerTest, BadTokenIsUnauthenticated) {
  grpc::ClientContext ctx;
  Auth(&ctx, "not-a-token");
  v1::GetJobRequest req;
  req.set_name("jobs/1");
  v1::Job job;
  grpc::Status s = jobs_->GetJob(&ctx, req, &job);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message().find("not-a-token"), std::string::npos);  // never echo secrets
}

TEST_F(ServerTest, UploadRoundTripsAndDeduplicates) {
  const std::string data = RandomBytes(3 * kMiB, 1);
  const std::string sha = Sha256Hex(data);
  EXPECT_FALSE(Status(sha, data.size()).complete());

  v1::UploadResponse resp;
  grpc::Status s = Upload(data, sha, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.blob().name(), "blobs/" + sha);
  EXPECT_EQ(resp.received_bytes(), 3 * kMiB);
  EXPECT_FALSE(resp.deduplicated());
  EXPECT_TRUE(Status(sha, data.size()).complete());

  grpc::Status ds;
  EXPECT_TRUE(Download("blobs/" + sha, &ds) == data);
  EXPECT_TRUE(ds.ok()) << ds.error_message();

  // The same content again: the server answers after the header, without the data.
  grpc::ClientContext ctx;
  Auth(&ctx);
  v1::UploadResponse again;
  auto writer = blobs_->Upload(&ctx, &again);
  v1::UploadRequest header;
  header.mutable_header()->set_sha256(sha);
  header.mutable_header()->set_size_bytes(data.size());
  ASSERT_TRUE(writer->Write(header));
  s = writer->Finish();  // no WritesDone: the server must finish on its own
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(again.deduplicated());
  EXPECT_EQ(again.received_bytes(), 0);
  EXPECT_EQ(again.blob().size_bytes(), 3 * kMiB);
}

TEST_F(ServerTest, InterruptedUploadResumes) {
  const std::string data = RandomBytes(3 * kMiB, 2);
  const std::string sha = Sha256Hex(data);
  v1::UploadResponse resp;
  grpc::Status s = Upload(data, sha, &resp, 0, /*close_early=*/true);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::UploadStatus st = Status(sha, data.size());
  EXPECT_FALSE(st.complete());
  ASSERT_EQ(st.committed_bytes(), kMiB);

  s = Upload(data, sha, &resp, 2 * kMiB);  // not what the server holds
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();

  s = Upload(data, sha, &resp, st.committed_bytes());
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.received_bytes(), 2 * kMiB);
  grpc::Status ds;
  EXPECT_TRUE(Download("blobs/" + sha, &ds) == data);
}

TEST_F(ServerTest, DigestMismatchIsRejectedAndServerKeepsServing) {
  const std::string data = RandomBytes(3 * kMiB, 3);
  const std::string wrong = Sha256Hex("something else");
  v1::UploadResponse resp;
  grpc::Status s = Upload(data, wrong, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("sha256"), std::string::npos) << s.error_message();
  EXPECT_EQ(Status(wrong, data.size()).committed_bytes(), 0);  // discarded
  grpc::Status ds;
  Download("blobs/" + wrong, &ds);
  EXPECT_EQ(ds.error_code(), grpc::StatusCode::NOT_FOUND);

  EXPECT_TRUE(Serving());
  s = Upload(data, Sha256Hex(data), &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(ServerTest, UploadLimitsAndMalformedHeaders) {
  v1::UploadResponse resp;
  const std::string big(9 * kMiB, 'x');
  grpc::Status s = Upload(big, Sha256Hex(big), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(s.error_message().find("header.size_bytes"), std::string::npos) << s.error_message();

  s = Upload("abc", "not-hex", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("header.sha256"), std::string::npos) << s.error_message();
  EXPECT_TRUE(Serving());
}

TEST_F(ServerTest, CreateJobRejectsUnknownConfigNamingTheField) {
  grpc::Status s = CreateJob(R"({"model": "/lab/m.onnx", "eval_dataset": "/lab/d.json", "configs": ["int3-magic"]})");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("configs[0]"), std::string::npos) << s.error_message();

  s = CreateJob(R"({"model": "m.onnx", "eval_dataset": "/lab/d.json"})");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("spec_json.model"), std::string::npos) << s.error_message();

  s = CreateJob("{not json");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("spec_json"), std::string::npos) << s.error_message();

  // A valid spec passes validation; without a store the server says so.
  s = CreateJob(R"({"model": "/lab/m.onnx", "eval_dataset": "/lab/d.json", "configs": ["fp32", "bf16"]})");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED) << s.error_message();
  EXPECT_TRUE(Serving());
}

// Issue 17, finding 1: a number beyond a double and deep nesting are refused with
// INVALID_ARGUMENT, and the server keeps serving (they used to throw out_of_range past a
// catch of parse_error, and overflow the stack in dump()).
TEST_F(ServerTest, HostileSpecJsonIsRefusedAndServerKeepsServing) {
  const std::string head = R"({"model": "/lab/m.onnx", "eval_dataset": "/lab/d.json", )";
  grpc::Status s = CreateJob(head + R"("samples": 1e400})");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("spec_json: not valid JSON: a number is too large"), std::string::npos)
      << s.error_message();
  EXPECT_TRUE(Serving());

  const std::string deep = head + R"("name": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
  ASSERT_LT(deep.size(), 256u * 1024) << "under the spec size limit";
  s = CreateJob(deep);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("deeper than 64 levels"), std::string::npos) << s.error_message();
  EXPECT_TRUE(Serving());
  // Deep inside a configuration, where the engine's parser copies it.
  s = CreateJob(head + R"("configs": )" + std::string(50000, '[') + std::string(50000, ']') + "}");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();

  s = CreateJob(head + R"("configs": ["fp32"]})");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED) << "valid, and no store: " << s.error_message();
  EXPECT_TRUE(Serving());
}

// Issue 17, findings 6, 7 and 11: numbers are range-checked before narrowing and capped;
// each refusal names the field (and the cap when one was exceeded).
TEST_F(ServerTest, SpecNumbersAreRangeCheckedAndCapped) {
  const std::string head = R"({"model": "/lab/m.onnx", "eval_dataset": "/lab/d.json", )";
  const std::pair<const char*, const char*> kBad[] = {
      {R"("latency": {"min_iters": 1e18, "max_iters": 1e18}})", "latency.min_iters\" is 1e+18, above the job limit"},
      {R"("latency": {"max_iters": 1000001}})", "latency.max_iters\" is 1000001, above the job limit"},
      {R"("latency": {"min_seconds": 1e9}})", "latency.min_seconds"},
      {R"("offline": {"samples": 1e15}})", "offline.samples\" is 1e+15, above the job limit \"offline.samples\" of 1000000"},
      {R"("calibration": {"batch_size": 1e9}})", "calibration.batch_size"},
      {R"("threads": -4294967295})", "threads"},
      {R"("threads": 1025})", "threads\" is 1025, above the job limit \"threads\" of 1024"},
      {R"("batch_sizes": [1.5]})", "batch_sizes[0]\" must be an integer, got 1.5"},
      {R"("seed": -1})", "seed"},
      {R"("sqnr_samples": 1e12})", "sqnr_samples"},
      {R"("max_job_seconds": 1e12})", "max_job_seconds"},
      {R"("configs": [{"name": "x", "weights": {"bits": 4294967304}}]})", "configs[0].weights.bits"},
      {R"("configs": [{"name": "x", "preset": 8}]})", "configs[0].preset"},
  };
  for (const auto& [bad, field] : kBad) {
    grpc::Status s = CreateJob(head + bad);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(field), std::string::npos) << bad << ": " << s.error_message();
  }
  // More threads than this server has cores is the worker's business (it caps them).
  grpc::Status s = CreateJob(head + R"("threads": 1000, "latency": {"min_iters": 1e3, "max_iters": 1000000}})");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED) << s.error_message();
  EXPECT_TRUE(Serving());
}

TEST(ServerFlagsTest, JobLimitsAreConfigurable) {
  const char* argv[] = {"qbench-server", "--job-limit", "latency.max_iters=10", "--job-limit", "samples=500",
                        "--job-limit", "latency.min_seconds=2.5"};
  auto flags = ParseServerFlags(7, argv);
  ASSERT_TRUE(flags.ok()) << flags.status();
  JobLimits& limits = flags->options.job_limits;
  limits.shared_roots = {"/lab"};
  EXPECT_EQ(limits.spec.latency_iters, 10);
  EXPECT_EQ(limits.spec.latency_seconds, 2.5);
  EXPECT_EQ(limits.max_samples, 500);
  EXPECT_EQ(limits.max_configs, JobLimits{}.max_configs);
  EXPECT_NE(ServerUsage().find("offline.samples (default 1000000)"), std::string::npos) << ServerUsage();
  for (const char* bad : {"latency.max_iter=10", "threads=0", "threads=lots", "samples"}) {
    const char* one[] = {"qbench-server", "--job-limit", bad};
    auto f = ParseServerFlags(3, one);
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(f.status().message().find("--job-limit"), absl::string_view::npos) << f.status();
  }

  v1::CreateJobRequest req;
  req.set_spec_json(R"({"model": "/lab/m.onnx", "eval_dataset": "/lab/d.json", "latency": {"max_iters": 11}})");
  auto job = ValidateCreateJob(req, "acme", limits);
  EXPECT_NE(job.status().message().find(R"(latency.max_iters" is 11, above the job limit "latency.max_iters" of 10)"),
            absl::string_view::npos)
      << job.status();
  req.set_spec_json(R"({"model": "/lab/m.onnx", "eval_dataset": "/lab/d.json", "latency": {"max_iters": 10}})");
  EXPECT_TRUE(ValidateCreateJob(req, "acme", limits).ok());
  // Defaults above a lowered cap are lowered with it, not refused.
  req.set_spec_json(R"({"model": "/lab/m.onnx", "eval_dataset": "/lab/d.json"})");
  EXPECT_TRUE(ValidateCreateJob(req, "acme", limits).ok());
}

TEST_F(ServerTest, JobNamesAreValidated) {
  grpc::ClientContext ctx;
  Auth(&ctx);
  v1::GetJobRequest req;
  req.set_name("jobs/abc");
  v1::Job job;
  grpc::Status s = jobs_->GetJob(&ctx, req, &job);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("name"), std::string::npos);
}

TEST_F(ServerTest, ServesTlsAndRequiresAnExplicitTransport) {
  const qbench::testing::TlsPair pair = qbench::testing::SelfSignedLocalhost();
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.data_dir = dir_;
  ServerDeps deps;
  deps.verifier = &verifier_;
  auto none = QbServer::Start(options, deps);  // neither TLS nor --insecure
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);

  std::ofstream(dir_ + "/cert.pem") << pair.cert;
  std::ofstream(dir_ + "/key.pem") << pair.key;
  options.tls_cert = dir_ + "/cert.pem";
  options.tls_key = dir_ + "/key.pem";
  options.insecure = true;
  auto both = QbServer::Start(options, deps);
  EXPECT_EQ(both.status().code(), absl::StatusCode::kInvalidArgument);

  options.insecure = false;
  auto tls = QbServer::Start(options, deps);
  ASSERT_TRUE(tls.ok()) << tls.status();
  grpc::SslCredentialsOptions co;
  co.pem_root_certs = pair.cert;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string((*tls)->port()), grpc::SslCredentials(co), args);
  RawResult r = RawCall(channel, "/grpc.health.v1.Health/Check", "");
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();

  auto jobs = v1::Jobs::NewStub(channel);
  grpc::ClientContext ctx;
  Auth(&ctx);
  v1::GetJobRequest req;
  req.set_name("jobs/7");
  v1::Job job;
  EXPECT_EQ(jobs->GetJob(&ctx, req, &job).error_code(), grpc::StatusCode::UNIMPLEMENTED);  // authenticated, no store

  auto plain = RawCall(grpc::CreateChannel("127.0.0.1:" + std::to_string((*tls)->port()),
                                           grpc::InsecureChannelCredentials()),
                       "/grpc.health.v1.Health/Check", "");
  EXPECT_FALSE(plain.status.ok());
}

TEST(JobValidationTest, FiltersNamesAndPageSizes) {
  auto f = ParseJobFilter(R"(state = RUNNING AND display_name = "resnet 50")");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->state, JobState::kRunning);
  EXPECT_EQ(f->display_name, "resnet 50");
  EXPECT_TRUE(ParseJobFilter("").ok());
  EXPECT_EQ(ParseJobFilter("state = DONE").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseJobFilter("owner = x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*ParseJobName("jobs/42"), 42);
  for (const char* bad : {"jobs/", "jobs/0", "jobs/-1", "job/1", "jobs/1/x", "jobs/99999999999999999999"})
    EXPECT_FALSE(ParseJobName(bad).ok()) << bad;
  EXPECT_EQ(*NormalizePageSize(0), 50);
  EXPECT_EQ(*NormalizePageSize(5000), 1000);
  EXPECT_FALSE(NormalizePageSize(-1).ok());
}

TEST(JobValidationTest, RefsReplaceSpecPathsAndLimitsApply) {
  v1::CreateJobRequest req;
  req.set_spec_json(R"({"configs": ["w8a8"], "samples": 100})");
  req.mutable_model()->set_blob("blobs/" + std::string(64, 'a'));
  req.mutable_eval_dataset()->set_shared_path("/lab/data/fashion.json");
  req.mutable_calibration_dataset()->set_blob("blobs/" + std::string(64, 'b'));
  req.set_request_id("retry-1");
  JobLimits lab;
  lab.shared_roots = {"/lab"};
  auto job = ValidateCreateJob(req, "acme", lab);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->model.kind, ArtifactSource::Kind::kBlob);
  EXPECT_EQ(job->eval_dataset.value, "/lab/data/fashion.json");
  EXPECT_EQ(job->config_names, (std::vector<std::string>{"fp32", "w8a8"}));

  JobLimits small = lab;
  small.max_samples = 10;
  EXPECT_NE(ValidateCreateJob(req, "acme", small).status().message().find("spec_json.samples"), absl::string_view::npos);
  req.set_request_id("bad id!");
  EXPECT_NE(ValidateCreateJob(req, "acme", lab).status().message().find("request_id"), absl::string_view::npos);
  req.set_request_id("");
  req.mutable_model()->set_blob("blobs/xyz");
  EXPECT_NE(ValidateCreateJob(req, "acme", lab).status().message().find("model.blob"), absl::string_view::npos);
  req.mutable_model()->set_shared_path("/lab/../etc/passwd");
  EXPECT_NE(ValidateCreateJob(req, "acme", lab).status().message().find("model.shared_path"),
            absl::string_view::npos);
  req.mutable_model()->set_shared_path("/lab/m.onnx");
  req.mutable_device()->set_device("workers/lab-01");
  EXPECT_NE(ValidateCreateJob(req, "acme", lab).status().message().find("device.device"), absl::string_view::npos);
}

// Issue 17, finding 3: shared paths were refused only for "..", so "/./etc/./passwd" and
// any absolute path reached the workers. Now the server accepts only normalized paths
// lexically inside its --shared-root folders, and none at all without one.
TEST(JobValidationTest, SharedPathsOnlyUnderTheServersRoots) {
  v1::CreateJobRequest req;
  req.set_spec_json(R"({"configs": ["fp32"]})");
  req.mutable_eval_dataset()->set_blob("blobs/" + std::string(64, 'a'));
  const auto error = [&](const std::string& path, const JobLimits& limits) {
    req.mutable_model()->set_shared_path(path);
    return ValidateCreateJob(req, "acme", limits).status();
  };
  absl::Status none = error("/lab/m.onnx", JobLimits{});
  EXPECT_EQ(none.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(none.message()), ::testing::HasSubstr("model.shared_path"));
  EXPECT_THAT(std::string(none.message()), ::testing::HasSubstr("--shared-root"));

  JobLimits lab;
  lab.shared_roots = {"/lab"};
  EXPECT_TRUE(error("/lab/m.onnx", lab).ok()) << error("/lab/m.onnx", lab);
  EXPECT_TRUE(error("/lab/sub/dir/m.onnx", lab).ok()) << error("/lab/sub/dir/m.onnx", lab);
  for (const char* bad : {"/./etc/./passwd", "/etc/passwd", "/lab/./m.onnx", "/lab//m.onnx", "/lab/../etc/passwd",
                          "/labx/m.onnx", "lab/m.onnx", "/lab/m\n.onnx"}) {
    absl::Status s = error(bad, lab);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("model.shared_path")) << bad;
    EXPECT_THAT(std::string(s.message()), ::testing::Not(::testing::HasSubstr("passwd"))) << bad;
  }
  // A path inside spec_json is held to the same rule.
  req.mutable_model()->set_blob("blobs/" + std::string(64, 'c'));
  req.set_spec_json(R"({"configs": ["fp32"], "eval_dataset": "/./etc/./passwd"})");
  req.clear_eval_dataset();
  EXPECT_FALSE(ValidateCreateJob(req, "acme", lab).ok());
}

// Issue 17, the typed job contract: the store flags the job's first configuration as its
// baseline, and the pipeline measures against FP32. A spec listing "w8a8" before "fp32"
// made w8a8 the stored baseline; the spec library now puts the baseline first.
TEST(JobValidationTest, TheStoredBaselineIsTheFp32ConfigurationWhereverItIsListed) {
  v1::CreateJobRequest req;
  req.set_spec_json(R"({"configs": ["w8a8", "w4a8", "fp32"]})");
  req.mutable_model()->set_blob("blobs/" + std::string(64, 'a'));
  req.mutable_eval_dataset()->set_blob("blobs/" + std::string(64, 'b'));
  req.mutable_calibration_dataset()->set_blob("blobs/" + std::string(64, 'c'));
  auto job = ValidateCreateJob(req, "acme", JobLimits{});
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->config_names, (std::vector<std::string>{"fp32", "w8a8", "w4a8"}));
}

// The server parses the spec without substituting placeholder paths: each file comes from
// the request or from the spec's shared path, and every file the spec names is checked,
// the validation set's too (before, "validation.dataset" reached the workers unchecked).
TEST(JobValidationTest, FilesComeFromRefsOrCheckedSpecPathsWithoutPlaceholders) {
  JobLimits lab;
  lab.shared_roots = {"/lab"};
  v1::CreateJobRequest req;
  req.mutable_model()->set_blob("blobs/" + std::string(64, 'a'));
  req.mutable_eval_dataset()->set_shared_path("/lab/eval.json");
  req.set_spec_json(R"({"configs": ["fp32"], "validation": {"dataset": "/etc/qbench/val.json", "samples": 10}})");
  absl::Status s = ValidateCreateJob(req, "acme", lab).status();
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("spec_json.validation.dataset"));
  req.set_spec_json(R"({"configs": ["fp32"], "validation": {"dataset": "/lab/val.json", "samples": 10}})");
  EXPECT_TRUE(ValidateCreateJob(req, "acme", lab).ok());

  // A static configuration with no calibration set from either source names the field.
  req.set_spec_json(R"({"configs": ["w8a8"]})");
  s = ValidateCreateJob(req, "acme", lab).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("calibration.dataset"));
  req.set_spec_json(R"({"configs": ["w8a8"], "calibration": {"dataset": "/lab/train.json"}})");
  auto job = ValidateCreateJob(req, "acme", lab);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->calibration_dataset.kind, ArtifactSource::Kind::kSharedPath);
  EXPECT_EQ(job->calibration_dataset.value, "/lab/train.json");
  // No model from either source.
  req.clear_model();
  s = ValidateCreateJob(req, "acme", lab).status();
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("\"model\" is required"));
}

TEST(ServerFlagsTest, SharedRootsAreRealExistingFolders) {
  char tmpl[] = "/tmp/qbroot-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  const std::string link = root + "-link";
  ASSERT_EQ(symlink(root.c_str(), link.c_str()), 0);
  const char* argv[] = {"qbench-server", "--shared-root", link.c_str()};
  auto flags = ParseServerFlags(3, argv);
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->options.job_limits.shared_roots, (std::vector<std::string>{root}));
  const char* missing[] = {"qbench-server", "--shared-root", "/nonexistent/qbench-root"};
  auto bad = ParseServerFlags(3, missing);
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), ::testing::HasSubstr("--shared-root"));
  const char* none[] = {"qbench-server"};
  EXPECT_TRUE(ParseServerFlags(1, none)->options.job_limits.shared_roots.empty());
  std::filesystem::remove(link);
  std::filesystem::remove(root);
}

}  // namespace
}  // namespace qbench::server
