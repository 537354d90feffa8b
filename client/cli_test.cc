// The built `qbench` binary against the real server (in-process, loopback; jobs kept by
// the in-memory repository in test_server.h): exit codes a CI script gates on, and the
// upload -> submit -> watch -> compare -> export flow.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <future>
#include <map>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/blob_client.h"
#include "client/dataset_archive.h"
#include "client/test_server.h"
#include "client/watch.h"
#include "common/sha256.h"
#include "engine/data/dataset.h"

extern char** environ;

namespace qbench::client {
namespace {

namespace fs = std::filesystem;
namespace v1 = qbench::v1;
using data::test_util::ReadBytes;
using data::test_util::TempDir;
using data::test_util::WriteText;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::kAdminToken;
using testing::kToken;
using testing::TestServer;

std::string ReadText(const std::string& path) {
  const auto b = ReadBytes(path);
  return std::string(b.begin(), b.end());
}

struct CliRun {
  int code = -1;
  std::string out, err;
};

// Runs the binary with a clean environment: HOME and QBENCH_CONFIG inside `home`, no
// QBENCH_* from the caller, plus `env`.
CliRun Qbench(const std::string& home, const std::vector<std::string>& args,
           const std::map<std::string, std::string>& env = {}) {
  std::vector<std::string> envs = {"HOME=" + home, "QBENCH_CONFIG=" + home + "/profiles.json", "TMPDIR=" + home,
                                   "PATH=/usr/bin:/bin"};
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<std::string> argv = {QB_CLI_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : envs) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  static std::atomic<int> counter{0};
  const std::string tag = absl::StrCat(home, "/run", counter++);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, (tag + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, (tag + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid;
  CliRun r;
  if (posix_spawn(&pid, QB_CLI_PATH, &fa, nullptr, cargv.data(), cenv.data()) != 0) {
    ADD_FAILURE() << "cannot run " << QB_CLI_PATH;
    return r;
  }
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadText(tag + ".out");
  r.err = ReadText(tag + ".err");
  return r;
}

std::ostream& operator<<(std::ostream& os, const CliRun& r) {
  return os << "exit " << r.code << "\nstdout:\n" << r.out << "stderr:\n" << r.err;
}

class CliTest : public ::testing::Test {
 protected:
  // Global flags for the test server, with `token` ("" for none).
  std::vector<std::string> Args(std::vector<std::string> command, const std::string& token = kToken) {
    std::vector<std::string> a = {"--server", server_.address(), "--insecure"};
    if (!token.empty()) {
      a.push_back("--token");
      a.push_back(token);
    }
    a.insert(a.end(), command.begin(), command.end());
    return a;
  }
  CliRun Q(std::vector<std::string> command, const std::string& token = kToken) {
    return Qbench(dir_.path(), Args(std::move(command), token));
  }

  // A model file, and an IDX dataset manifest (3 samples of 2x2).
  void WriteInputs() {
    WriteText(dir_.File("job/model.onnx"), "not really onnx, the server does not parse models");
    data::test_util::WriteIdx(dir_.File("job/data/images"), {3, 2, 2}, {0, 51, 102, 255, 255, 102, 51, 0, 1, 2, 3, 4},
                              false);
    data::test_util::WriteIdx(dir_.File("job/data/labels"), {3}, {3, 1, 4}, false);
    WriteText(dir_.File("job/data/set.json"), R"({"format": "idx", "images": "images", "labels": "labels"})");
    WriteText(dir_.File("job/spec.json"), R"({"name": "tiny", "model": "model.onnx", "eval_dataset": "data/set.json",
      "batch_sizes": [1, 2], "configs": ["fp32", "w8a8"],
      "calibration": {"dataset": "data/set.json", "samples": 3}})");
  }

  TestServer server_;
  TempDir dir_;
};

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Q({"--bogus"}).code, 2);
  CliRun r = Q({"list", "--bogus"});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("qbench: list: unknown flag \"--bogus\""));
  r = Q({"list", "--server", "x"});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("global flag"));
  EXPECT_EQ(Q({"frobnicate"}).code, 2);
  EXPECT_EQ(Q({"admin"}).code, 2);
  EXPECT_EQ(Q({"show"}).code, 2);                      // missing operand
  EXPECT_EQ(Q({"show", "jobs/1", "jobs/2"}).code, 2);  // one too many
  EXPECT_EQ(Q({"show", "job/1"}).code, 2);
  EXPECT_EQ(Q({"submit"}).code, 2);  // neither a spec nor --model/--data/--configs
  EXPECT_EQ(Q({"list", "--limit", "0"}).code, 2);
  EXPECT_EQ(Q({"compare", "jobs/1", "--format", "xml"}).code, 2);
  EXPECT_EQ(Qbench(dir_.path(), {"list"}).code, 2);  // no server anywhere
  r = Qbench(dir_.path(), {"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("Exit codes:"));
  EXPECT_THAT(r.out, HasSubstr("5  UNAVAILABLE"));
  r = Qbench(dir_.path(), {"submit", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("--request-id"));
}

TEST_F(CliTest, AuthenticationErrorsExitThree) {
  CliRun r = Q({"list"}, "");
  EXPECT_EQ(r.code, 3) << r;
  r = Q({"list"}, "not-a-token");
  EXPECT_EQ(r.code, 3) << r;
  EXPECT_THAT(r.err, Not(HasSubstr("not-a-token")));
  r = Q({"admin", "team", "create", "newteam"});  // a team token, not an admin one
  EXPECT_EQ(r.code, 3) << r;
  EXPECT_EQ(Q({"admin", "team", "create", "X!"}, kAdminToken).code, 2);
  // TODO(admin store): the test server has no admin repository, so a valid admin call
  // answers UNIMPLEMENTED (6); with one wired in this becomes 0.
  EXPECT_EQ(Q({"admin", "team", "create", "newteam"}, kAdminToken).code, 6);
}

TEST_F(CliTest, NotFoundExitsFourAndUnreachableFive) {
  CliRun r = Q({"show", "jobs/999"});
  EXPECT_EQ(r.code, 4) << r;
  EXPECT_THAT(r.err, HasSubstr("qbench: "));
  EXPECT_THAT(r.err, HasSubstr("jobs/999"));
  EXPECT_EQ(Q({"download", "blobs/" + std::string(64, 'e'), "-o", dir_.path() + "/x"}).code, 4);
  EXPECT_EQ(Q({"upload", dir_.path() + "/missing.onnx"}).code, 4);
  const std::string address = server_.address();
  server_.Shutdown();
  r = Qbench(dir_.path(), {"--server", address, "--insecure", "--token", kToken, "show", "jobs/1"});
  EXPECT_EQ(r.code, 5) << r;
}

TEST(CliNoJobStoreTest, UnimplementedExitsSix) {
  TestServer server(TestServer::Options{.with_jobs = false});
  TempDir dir;
  CliRun r = Qbench(dir.path(), {"--server", server.address(), "--insecure", "--token", kToken, "show", "jobs/1"});
  EXPECT_EQ(r.code, 6) << r;
}

TEST_F(CliTest, UploadPrintsTheBlobAndDeduplicates) {
  WriteInputs();
  CliRun r = Q({"upload", dir_.path() + "/job/model.onnx"});
  ASSERT_EQ(r.code, 0) << r;
  const std::string sha = Sha256Hex(ReadText(dir_.path() + "/job/model.onnx"));
  EXPECT_EQ(r.out, "blobs/" + sha + "\n");
  EXPECT_THAT(r.err, Not(HasSubstr("deduplicated")));
  r = Q({"upload", dir_.path() + "/job/model.onnx"});
  EXPECT_EQ(r.out, "blobs/" + sha + "\n");
  EXPECT_THAT(r.err, HasSubstr("deduplicated"));
  // A dataset packs to the same bytes every time, so it deduplicates too.
  r = Q({"upload", "--dataset", dir_.path() + "/job/data/set.json"});
  ASSERT_EQ(r.code, 0) << r;
  CliRun again = Q({"upload", "--dataset", dir_.path() + "/job/data/set.json"});
  EXPECT_EQ(again.out, r.out);
  EXPECT_THAT(again.err, HasSubstr("deduplicated"));
  for (const auto& e : fs::directory_iterator(dir_.path()))  // TMPDIR: the packed archives are gone
    EXPECT_THAT(e.path().filename().string(), Not(HasSubstr("qbench-dataset-")));
}

TEST_F(CliTest, SubmitUploadsInputsOnceAndSendsRefs) {
  WriteInputs();
  CliRun r = Q({"submit", dir_.path() + "/job/spec.json", "--request-id", "req-1", "--device-class", "cpu"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, "jobs/1\n");
  EXPECT_THAT(r.err, HasSubstr("request_id: req-1"));
  const server::JobRecord job = server_.jobs().Job(1);
  EXPECT_EQ(job.job.display_name, "tiny");
  EXPECT_EQ(job.job.device_class, "cpu");
  EXPECT_EQ(job.job.model.kind, server::ArtifactSource::Kind::kBlob);
  EXPECT_EQ(job.job.model.value, Sha256Hex(ReadText(dir_.path() + "/job/model.onnx")));
  // One manifest for evaluation and calibration: one archive, one blob.
  EXPECT_EQ(job.job.eval_dataset.kind, server::ArtifactSource::Kind::kBlob);
  EXPECT_EQ(job.job.eval_dataset.value, job.job.calibration_dataset.value);
  EXPECT_EQ(job.job.eval_dataset.manifest, "dataset.json");
  const auto spec = nlohmann::json::parse(job.job.spec_json);
  EXPECT_FALSE(spec.contains("model"));
  EXPECT_FALSE(spec.contains("eval_dataset"));
  EXPECT_FALSE(spec["calibration"].contains("dataset"));
  EXPECT_EQ(spec["calibration"]["samples"], 3);  // the rest unchanged
  EXPECT_EQ(spec["batch_sizes"], nlohmann::json::array({1, 2}));

  // What a worker will do: fetch the archive, unpack it, open the dataset.
  const std::string tar = dir_.path() + "/fetched.tar";
  ASSERT_TRUE(DownloadBlob(server_.connection(), job.job.eval_dataset.value, tar).ok());
  ASSERT_TRUE(ExtractArchive(tar, dir_.path() + "/unpacked").ok());
  auto ds = data::OpenDataset(dir_.path() + "/unpacked/dataset.json");
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ((*ds)->size(), 3);
  EXPECT_EQ((*ds)->label(2), 4);

  // The same request id is the same job (a retried submit queues nothing new).
  r = Q({"submit", dir_.path() + "/job/spec.json", "--request-id", "req-1"});
  EXPECT_EQ(r.out, "jobs/1\n") << r;
  EXPECT_EQ(server_.jobs().count(), 1);
}

TEST_F(CliTest, SubmitFromFlagsSharedPathsAndServerValidation) {
  WriteInputs();
  const std::string d = dir_.path() + "/job/";
  CliRun r = Q({"submit", "--model", d + "model.onnx", "--data", d + "data/set.json", "--calib", d + "data/set.json",
             "--configs", "fp32,w8a8", "--samples", "2", "--batch-sizes", "1,8", "--name", "quick", "--shared"});
  ASSERT_EQ(r.code, 0) << r;
  const server::JobRecord job = server_.jobs().Job(1);
  EXPECT_EQ(job.job.display_name, "quick");
  EXPECT_EQ(job.job.model.kind, server::ArtifactSource::Kind::kSharedPath);
  EXPECT_EQ(job.job.model.value, d + "model.onnx");
  EXPECT_EQ(job.job.calibration_dataset.value, d + "data/set.json");
  const auto spec = nlohmann::json::parse(job.job.spec_json);
  EXPECT_EQ(spec["samples"], 2);
  EXPECT_EQ(spec["configs"], nlohmann::json::array({"fp32", "w8a8"}));
  EXPECT_EQ(spec["batch_sizes"], nlohmann::json::array({1, 8}));

  // The server's validation comes back as a usage error naming the field.
  r = Q({"submit", "--model", d + "model.onnx", "--data", d + "data/set.json", "--configs", "fp32,w9a9", "--shared"});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("configs"));
  EXPECT_EQ(Q({"submit", d + "spec.json", "--model", "x"}).code, 2);
  EXPECT_EQ(Q({"submit", d + "spec.json", "--device", "a", "--device-class", "b"}).code, 2);
}

TEST_F(CliTest, SubmitChecksTheSpecBeforeUploadingAnything) {
  // A spec the server would refuse fails here first, naming the field, with nothing
  // uploaded: a typo must not cost the upload of a large model and its data.
  WriteInputs();
  WriteText(dir_.File("job/bad.json"), R"({"model": "model.onnx", "eval_dataset": "data/set.json",
      "configs": ["fp32", "w8a8"], "calibration": {"dataset": "data/set.json", "samples": 3},
      "validation": {"samples": 2}, "search": {"budget_rule": "median"}})");
  CliRun r = Q({"submit", dir_.path() + "/job/bad.json"});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("search.budget_rule"));
  EXPECT_THAT(r.err, Not(HasSubstr("-> blobs/"))) << "uploaded before the spec was checked";
  EXPECT_THAT(r.err, Not(HasSubstr("request_id"))) << "the server was asked before the spec was checked";
  EXPECT_EQ(server_.jobs().count(), 0);
}

TEST_F(CliTest, ListShowAndCancel) {
  WriteInputs();
  const std::string spec = dir_.path() + "/job/spec.json";
  ASSERT_EQ(Q({"submit", spec, "--shared", "--name", "first"}).code, 0);
  ASSERT_EQ(Q({"submit", spec, "--shared", "--name", "second"}).code, 0);
  ASSERT_EQ(Q({"submit", spec, "--shared", "--name", "third"}).code, 0);
  CliRun r = Q({"list"});
  ASSERT_EQ(r.code, 0) << r;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[1], HasSubstr("jobs/3"));  // newest first
  EXPECT_THAT(lines[1], HasSubstr("QUEUED"));
  r = Q({"list", "--limit", "2", "--json"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(nlohmann::json::parse(r.out)["jobs"].size(), 2u);
  r = Q({"list", "--name", "second", "--json"});
  auto jobs = nlohmann::json::parse(r.out)["jobs"];
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["name"], "jobs/2");

  r = Q({"cancel", "jobs/2"});
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, "jobs/2 CANCELLED\n");
  r = Q({"cancel", "jobs/2"});
  EXPECT_EQ(r.code, 2) << r;  // FAILED_PRECONDITION: it already ended
  r = Q({"list", "--state", "cancelled", "--json"});
  EXPECT_EQ(nlohmann::json::parse(r.out)["jobs"].size(), 1u) << r;
  EXPECT_EQ(Q({"list", "--state", "DONE"}).code, 2);

  r = Q({"show", "jobs/1"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("first"));
  EXPECT_THAT(r.out, HasSubstr(dir_.path() + "/job/model.onnx"));
  r = Q({"show", "jobs/1", "--json"});
  EXPECT_EQ(nlohmann::json::parse(r.out)["display_name"], "first");
}

v1::JobEvent State(v1::JobState s, v1::Stage stage = v1::STAGE_UNSPECIFIED, const std::string& reason = "") {
  v1::JobEvent e;
  e.mutable_state_changed()->set_state(s);
  e.mutable_state_changed()->set_stage(stage);
  e.mutable_state_changed()->set_reason(reason);
  return e;
}

v1::ConfigResult Result(const std::string& config, double top1) {
  v1::ConfigResult c;
  c.set_config(config);
  c.set_top1(top1);
  c.set_top1_delta_vs_fp32(top1 - 0.9);
  c.set_model_size_bytes(config == "fp32" ? 4096 : 1024);
  auto* l = c.add_latency();
  l->set_batch_size(1);
  l->set_p50_ms(config == "fp32" ? 2 : 1);
  l->set_p99_ms(3);
  return c;
}

TEST_F(CliTest, WatchFollowsLiveEventsThenComparesAndExports) {
  WriteInputs();
  ASSERT_EQ(Q({"submit", dir_.path() + "/job/spec.json", "--shared"}).code, 0);
  testing::MemoryJobs& jobs = server_.jobs();
  v1::JobResults results;
  *results.add_configs() = Result("fp32", 0.9);
  *results.add_configs() = Result("w8a8", 0.88);
  jobs.SetResults(1, results);

  auto watch = std::async(std::launch::async, [&] { return Q({"watch", "jobs/1"}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the watcher is connected and waiting
  jobs.AddEvent(1, State(v1::RUNNING, v1::CALIBRATING));
  v1::JobEvent progress;
  progress.mutable_progress()->set_config("w8a8");
  progress.mutable_progress()->set_stage(v1::CALIBRATING);
  progress.mutable_progress()->set_done(2);
  progress.mutable_progress()->set_total(3);
  jobs.AddEvent(1, progress);
  v1::JobEvent result;
  *result.mutable_result() = results.configs(1);
  jobs.AddEvent(1, result);
  jobs.AddEvent(1, State(v1::SUCCEEDED));
  ASSERT_EQ(watch.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  CliRun r = watch.get();
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("state RUNNING (CALIBRATING)"));
  EXPECT_THAT(r.out, HasSubstr("w8a8 CALIBRATING 2/3"));
  EXPECT_THAT(r.out, HasSubstr("result w8a8: top-1 88.00% (-2.00 pts)"));
  EXPECT_THAT(r.out, HasSubstr("state SUCCEEDED"));
  EXPECT_THAT(r.out, HasSubstr("PARETO"));  // the comparison follows

  r = Q({"compare", "jobs/1", "--format", "csv"});
  ASSERT_EQ(r.code, 0) << r;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[2], HasSubstr("jobs/1,w8a8,"));
  EXPECT_EQ(Q({"compare", "jobs/1", "jobs/404"}).code, 4);

  // Export: the server streams a stored blob; the CLI checks size and digest.
  const std::string model = dir_.File("export-src.onnx");
  WriteText(model, std::string(3 << 20, 'q') + "tail");
  auto up = UploadFile(server_.connection(), model);
  ASSERT_TRUE(up.ok()) << up.status();
  jobs.SetExport(1, "w8a8", up->sha256, up->size);
  r = Q({"export", "jobs/1", "--config", "w8a8", "-o", dir_.path() + "/w8a8.onnx"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(ReadText(dir_.path() + "/w8a8.onnx"), ReadText(model));
  EXPECT_FALSE(fs::exists(dir_.path() + "/w8a8.onnx.partial"));
  EXPECT_EQ(Q({"export", "jobs/1", "--config", "w4a8", "-o", dir_.path() + "/w4a8.onnx"}).code, 4);
  EXPECT_FALSE(fs::exists(dir_.path() + "/w4a8.onnx"));
}

TEST_F(CliTest, WatchOfAFailedJobExitsOne) {
  WriteInputs();
  ASSERT_EQ(Q({"submit", dir_.path() + "/job/spec.json", "--shared"}).code, 0);
  server_.jobs().AddEvent(1, State(v1::RUNNING, v1::QUANTIZING));
  server_.jobs().AddEvent(1, State(v1::FAILED, v1::STAGE_UNSPECIFIED, "boom: out of memory"));
  CliRun r = Q({"watch", "jobs/1"});  // replays the stored events, then ends
  EXPECT_EQ(r.code, 1) << r;
  EXPECT_THAT(r.out, HasSubstr("state FAILED: boom: out of memory"));
  EXPECT_THAT(r.err, HasSubstr("jobs/1 ended FAILED: boom: out of memory"));
  EXPECT_EQ(Q({"watch", "jobs/77"}).code, 4);
}

TEST_F(CliTest, SubmitWaitFollowsTheNewJob) {
  WriteInputs();
  auto submit = std::async(std::launch::async, [&] { return Q({"submit", dir_.path() + "/job/spec.json", "--wait"}); });
  for (int i = 0; i < 200 && server_.jobs().count() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  ASSERT_EQ(server_.jobs().count(), 1);
  server_.jobs().AddEvent(1, State(v1::RUNNING, v1::EVALUATING));
  server_.jobs().AddEvent(1, State(v1::CANCELLED));
  ASSERT_EQ(submit.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  CliRun r = submit.get();
  EXPECT_EQ(r.code, 1) << r;
  EXPECT_THAT(r.out, HasSubstr("jobs/1\n"));
  EXPECT_THAT(r.out, HasSubstr("state CANCELLED"));
  EXPECT_THAT(r.err, HasSubstr("jobs/1 ended CANCELLED"));
}

// A server restart breaks the stream; the watcher reconnects after the last event it
// saw, so every event is printed exactly once.
TEST_F(CliTest, WatchReconnectsAfterTheStreamBreaks) {
  WriteInputs();
  ASSERT_EQ(Q({"submit", dir_.path() + "/job/spec.json", "--shared"}).code, 0);
  server_.jobs().AddEvent(1, State(v1::RUNNING, v1::CALIBRATING));
  std::ostringstream out, err;
  WatchOptions options;
  options.first_backoff = absl::Milliseconds(50);
  auto follow = std::async(std::launch::async, [&] { return FollowJob(server_.connection(), "jobs/1", out, err, options); });
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  server_.Restart();
  server_.jobs().AddEvent(1, State(v1::RUNNING, v1::BENCHMARKING));
  server_.jobs().AddEvent(1, State(v1::SUCCEEDED));
  ASSERT_EQ(follow.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  auto job = follow.get();
  ASSERT_TRUE(job.ok()) << job.status() << err.str();
  EXPECT_EQ(job->state(), v1::SUCCEEDED);
  const std::string text = out.str();
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << text;
  EXPECT_THAT(lines[0], HasSubstr("CALIBRATING"));
  EXPECT_THAT(lines[1], HasSubstr("BENCHMARKING"));
  EXPECT_THAT(lines[2], HasSubstr("SUCCEEDED"));
  EXPECT_THAT(err.str(), HasSubstr("reconnecting after event 1"));
}

TEST_F(CliTest, ProfilesEnvironmentAndFlagsInThatOrder) {
  const std::string token_file = dir_.File("token");
  WriteText(token_file, std::string(kToken) + "\n");
  const std::string home = dir_.path();
  CliRun r = Qbench(home, {"profile", "set", "local", "--server", server_.address(), "--insecure", "--token-file",
                        token_file});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(Qbench(home, {"list"}).code, 0);  // the default profile
  r = Qbench(home, {"profile", "show"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("* local: " + server_.address()));
  EXPECT_THAT(r.out, HasSubstr("token set from token file"));
  EXPECT_THAT(r.out + r.err, Not(HasSubstr(kToken)));  // never the secret

  // QBENCH_SERVER beats the profile; --server beats QBENCH_SERVER.
  const std::map<std::string, std::string> dead = {{"QBENCH_SERVER", "127.0.0.1:1"}};
  EXPECT_EQ(Qbench(home, {"list"}, dead).code, 5);
  EXPECT_EQ(Qbench(home, {"--server", server_.address(), "list"}, dead).code, 0);
  // QBENCH_TOKEN beats the profile's token file; --token beats QBENCH_TOKEN.
  const std::map<std::string, std::string> bad = {{"QBENCH_TOKEN", "bad"}};
  EXPECT_EQ(Qbench(home, {"list"}, bad).code, 3);
  EXPECT_EQ(Qbench(home, {"--token", kToken, "list"}, bad).code, 0);
  EXPECT_EQ(Qbench(home, {"--profile", "nope", "list"}).code, 2);

  WriteText(home + "/profiles.json", R"({"profiles": {"x": {"server": "a:1", "colour": "red"}}})");
  r = Qbench(home, {"profile", "show"});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("profiles.x.colour"));
}

}  // namespace
}  // namespace qbench::client
