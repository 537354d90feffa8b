#include "tests/service_lab.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "server/store/crypto.h"
#include "server/store/migrate.h"
#include "server/store/teams.h"
#include "tests/test_paths.h"

namespace qbench::testing {
namespace {

absl::Status WriteToken(const std::string& path, const std::string& token) {
  std::ofstream out(path, std::ios::trunc);
  out << token << "\n";
  return out ? absl::OkStatus() : absl::InternalError("cannot write " + path);
}

bool IsFinal(v1::JobState s) { return s == v1::SUCCEEDED || s == v1::FAILED || s == v1::CANCELLED; }

// Each root as repeated --shared-root flags.
std::vector<std::string> SharedRootFlags(const std::vector<std::string>& roots) {
  std::vector<std::string> out;
  for (const std::string& r : roots) {
    out.push_back("--shared-root");
    out.push_back(r);
  }
  return out;
}

}  // namespace

std::vector<std::string> DefaultSharedRoots() {
  std::vector<std::string> roots = {SourceDir() + "/models"};
  std::error_code ec;
  if (std::filesystem::is_directory("/usr/share/datasets", ec)) roots.push_back("/usr/share/datasets");
  return roots;
}

absl::StatusOr<std::unique_ptr<Lab>> Lab::Start(const LabOptions& options) {
  std::unique_ptr<Lab> lab(new Lab);
  lab->options_ = options;
  std::string tmpl = (std::filesystem::temp_directory_path() / "qblab-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return absl::InternalError("mkdtemp failed");
  lab->dir_ = tmpl;
  auto pg = PgTestCluster::Start();
  if (!pg.ok()) return pg.status();
  lab->pg_ = *std::move(pg);
  lab->db_uri_ = lab->pg_->Uri();
  {
    auto db = store::Db::Connect(lab->db_uri_);
    if (!db.ok()) return db.status();
    auto migrated = store::Migrate(**db, SourceDir() + "/migrations");
    if (!migrated.ok()) return migrated.status();
    for (const char* team : {"acme", "beta", "lab"}) {
      auto id = store::CreateTeam(**db, team);
      if (!id.ok()) return id.status();
      auto token = store::CreateToken(**db, *id, "test", std::string(team) == "lab" ? store::TokenRole::kAdmin : store::TokenRole::kTeam);
      if (!token.ok()) return token.status();
      const std::string who = std::string(team) == "lab" ? "admin" : team;
      lab->tokens_[who] = token->plaintext;
      if (absl::Status s = WriteToken(lab->token_file(who), token->plaintext); !s.ok()) return s;
    }
  }
  {
    // The workers' own token (a worker role in team "lab"), not the admin's.
    auto db = store::Db::Connect(lab->db_uri_);
    if (!db.ok()) return db.status();
    const std::string secret = absl::StrCat("qbt_", store::HexEncode(store::RandomBytes(32)));
    auto id = store::CreateTokenForDigest(**db, "lab", "workers", store::TokenRole::kWorker, store::Sha256(secret),
                                          std::nullopt);
    if (!id.ok()) return id.status();
    lab->tokens_["worker"] = secret;
    if (absl::Status s = WriteToken(lab->token_file("worker"), secret); !s.ok()) return s;
  }
  if (absl::Status s = lab->StartServer(); !s.ok()) return s;
  return lab;
}

absl::Status Lab::StartServer() {
  port_ = FreeTcpPort();
  std::vector<std::string> argv = {options_.server_binary, "--db", db_uri_, "--insecure", "--listen", address(),
                                   "--data-dir", dir_ + "/server", "--max-upload-bytes",
                                   std::to_string(options_.max_upload_bytes), "--reap-seconds", "1"};
  for (std::string& f : SharedRootFlags(options_.shared_roots)) argv.push_back(std::move(f));
  auto server = Subprocess::Start(argv, ServerLog());
  if (!server.ok()) return server.status();
  server_ = *std::move(server);
  auto channel = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(30)))
    return absl::UnavailableError(absl::StrCat("qbench-server did not come up:\n", ReadTextFile(ServerLog())));
  jobs_ = v1::Jobs::NewStub(channel);
  blobs_ = v1::Blobs::NewStub(channel);
  devices_ = v1::Devices::NewStub(channel);
  admin_ = v1::Admin::NewStub(channel);
  return absl::OkStatus();
}

Lab::~Lab() {
  workers_.clear();  // SIGTERM each, reap
  server_.reset();
  pg_.reset();
  if (!std::getenv("QB_KEEP_LAB")) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

absl::StatusOr<int> Lab::StartWorker(const std::string& id, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {options_.worker_binary, "--db", db_uri_, "--server", address(), "--insecure",
                              "--token-file", token_file("worker"), "--id", id, "--cache-dir",
                              dir_ + "/cache-" + id, "--lease-seconds", std::to_string(options_.lease_seconds),
                              "--poll-seconds", "1"};
  for (std::string& f : SharedRootFlags(options_.shared_roots)) argv.push_back(std::move(f));
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto w = Subprocess::Start(argv, WorkerLog(id));
  if (!w.ok()) return w.status();
  workers_.push_back(*std::move(w));
  return static_cast<int>(workers_.size()) - 1;
}

std::unique_ptr<grpc::ClientContext> Lab::Context(const std::string& token, absl::Duration deadline) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  return ctx;
}

absl::StatusOr<v1::Job> Lab::Poll(const std::string& token, const std::string& name, absl::Duration timeout,
                                  const std::function<absl::StatusOr<bool>(const v1::Job&)>& done) {
  const absl::Time end = absl::Now() + timeout;
  v1::Job job;
  while (true) {
    v1::GetJobRequest req;
    req.set_name(name);
    auto ctx = Context(token);
    grpc::Status s = jobs_->GetJob(ctx.get(), req, &job);
    if (s.ok()) {
      auto finished = done(job);
      if (!finished.ok()) return finished.status();
      if (*finished) return job;
    }
    if (absl::Now() > end)
      return absl::DeadlineExceededError(absl::StrCat(name, ": gave up waiting; last state ",
                                                      v1::JobState_Name(job.state()), " (", s.error_message(), ")"));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

absl::StatusOr<v1::Job> Lab::WaitForEnd(const std::string& token, const std::string& name, absl::Duration timeout) {
  return Poll(token, name, timeout, [](const v1::Job& j) -> absl::StatusOr<bool> { return IsFinal(j.state()); });
}

absl::StatusOr<v1::Job> Lab::WaitForProgress(const std::string& token, const std::string& name,
                                             absl::Duration timeout) {
  return Poll(token, name, timeout, [&](const v1::Job& j) -> absl::StatusOr<bool> {
    if (IsFinal(j.state())) return absl::FailedPreconditionError(absl::StrCat(name, " ended before it showed progress"));
    return j.state() == v1::RUNNING && j.progress_size() > 0;
  });
}

std::string SmallSpec(const std::vector<std::string>& configs, int samples, const std::vector<int>& batch_sizes,
                      double min_seconds, int calibration_samples) {
  const std::string models = SourceDir() + "/models/fashion_mnist";
  nlohmann::json spec = {
      {"name", "service-test"},
      {"model", models + "/cnn_bn.onnx"},
      {"eval_dataset", models + "/dataset.json"},
      {"samples", samples},
      {"batch_sizes", batch_sizes},
      {"threads", 1},
      {"latency", {{"warmup_iters", 1}, {"warmup_seconds", 0.0}, {"min_iters", 5}, {"min_seconds", min_seconds}}},
      {"calibration", {{"dataset", models + "/train_dataset.json"}, {"samples", calibration_samples}, {"seed", 0}}},
      {"configs", configs},
      {"sqnr_samples", 32},
      {"profile_iters", 0},
      {"sensitivity", false}};
  return spec.dump();
}

}  // namespace qbench::testing
