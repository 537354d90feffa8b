// The CLI's pure parts: argument parsing, exit codes, connection resolution order, job
// spec resolution, request building, request ids, the progress line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <regex>
#include <sstream>

#include "client/args.h"
#include "client/cli.h"
#include "client/job_format.h"
#include "client/profiles.h"
#include "client/progress.h"
#include "client/submit.h"
#include "engine/data/test_util.h"

namespace qbench::client {
namespace {

namespace v1 = qbench::v1;
using data::test_util::TempDir;
using data::test_util::WriteText;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr FlagSpec kFlags[] = {{"--name", "N", ""}, {"--wait", nullptr, ""}, {"-o", "FILE", ""}};

TEST(ArgsTest, FlagsAndOperandsInAnyOrder) {
  const std::vector<std::string> args = {"spec.json", "--name=x", "--wait", "-o", "out", "--", "--literal"};
  auto p = ParseArgs(args, kFlags);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->operands, ElementsAre("spec.json", "--literal"));
  EXPECT_THAT(p->flags, ElementsAre(Pair("--name", "x"), Pair("--wait", ""), Pair("-o", "out")));
  EXPECT_EQ(p->Value("--name"), "x");
  EXPECT_TRUE(p->Has("--wait"));
  EXPECT_EQ(p->Value("--missing", "d"), "d");

  EXPECT_THAT(std::string(ParseArgs(std::vector<std::string>{"--nope"}, kFlags).status().message()),
              HasSubstr("unknown flag \"--nope\""));
  EXPECT_THAT(std::string(ParseArgs(std::vector<std::string>{"--name"}, kFlags).status().message()),
              HasSubstr("--name needs a value (N)"));
  EXPECT_FALSE(ParseArgs(std::vector<std::string>{"--wait=1"}, kFlags).ok());

  // Global flags stop at the command; what follows is the command's.
  auto g = ParseArgs(std::vector<std::string>{"--wait", "list", "--name", "x"}, kFlags, true);
  ASSERT_TRUE(g.ok());
  EXPECT_THAT(g->operands, ElementsAre("list", "--name", "x"));
  EXPECT_EQ(g->flags.size(), 1u);

  auto n = ParseArgs(std::vector<std::string>{"--name", "-3"}, kFlags);
  ASSERT_TRUE(n.ok());
  EXPECT_FALSE(n->Int("--name", 0, 1).ok());
  EXPECT_THAT(SplitList("1, 64,,8"), ElementsAre("1", "64", "8"));
}

TEST(ExitCodeTest, CanonicalCodesMapToTheDocumentedExitCodes) {
  EXPECT_EQ(ExitCodeFor(absl::OkStatus()), 0);
  EXPECT_EQ(ExitCodeFor(absl::InvalidArgumentError("")), 2);
  EXPECT_EQ(ExitCodeFor(absl::FailedPreconditionError("")), 2);
  EXPECT_EQ(ExitCodeFor(absl::OutOfRangeError("")), 2);
  EXPECT_EQ(ExitCodeFor(absl::AlreadyExistsError("")), 2);
  EXPECT_EQ(ExitCodeFor(absl::UnauthenticatedError("")), 3);
  EXPECT_EQ(ExitCodeFor(absl::PermissionDeniedError("")), 3);
  EXPECT_EQ(ExitCodeFor(absl::NotFoundError("")), 4);
  EXPECT_EQ(ExitCodeFor(absl::UnavailableError("")), 5);
  EXPECT_EQ(ExitCodeFor(absl::DeadlineExceededError("")), 5);
  EXPECT_EQ(ExitCodeFor(absl::UnimplementedError("")), 6);
  EXPECT_EQ(ExitCodeFor(absl::InternalError("")), 6);
}

class EnvGuard {
 public:
  EnvGuard(const char* name, const char* value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    if (value) setenv(name, value, 1);
    else unsetenv(name);
  }
  ~EnvGuard() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(ProfilesTest, SaveLoadAndResolutionOrder) {
  TempDir dir;
  EnvGuard no_server("QBENCH_SERVER", nullptr), no_token("QBENCH_TOKEN", nullptr);
  const std::string path = dir.path() + "/cfg/profiles.json";
  WriteText(dir.File("tok"), "  secret-1 \n");
  ProfileFile f;
  f.default_profile = "lab";
  f.profiles["lab"] = Profile{"lab:443", false, "/ca.pem", dir.path() + "/tok"};
  f.profiles["local"] = Profile{"127.0.0.1:50051", true, "", ""};
  ASSERT_TRUE(SaveProfiles(path, f).ok());
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::none);
  auto loaded = LoadProfiles(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->default_profile, "lab");
  EXPECT_TRUE(loaded->profiles.at("local").insecure);

  auto r = ResolveConnection({}, path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->connection.server, "lab:443");
  EXPECT_EQ(r->connection.token, "secret-1");  // trimmed
  EXPECT_EQ(r->connection.ca_file, "/ca.pem");
  EXPECT_FALSE(r->connection.insecure);

  ConnectionFlags flags;
  flags.profile = "local";
  r = ResolveConnection(flags, path);
  EXPECT_EQ(r->connection.server, "127.0.0.1:50051");
  EXPECT_TRUE(r->connection.token.empty());
  {
    EnvGuard s("QBENCH_SERVER", "env:1"), t("QBENCH_TOKEN", "env-token");
    r = ResolveConnection(flags, path);
    EXPECT_EQ(r->connection.server, "env:1");
    EXPECT_EQ(r->connection.token, "env-token");
    EXPECT_EQ(r->token_from, "QBENCH_TOKEN");
    flags.server = "flag:2";
    flags.token = "flag-token";
    r = ResolveConnection(flags, path);
    EXPECT_EQ(r->connection.server, "flag:2");
    EXPECT_EQ(r->connection.token, "flag-token");
  }
  flags.token_file = dir.path() + "/tok";
  EXPECT_EQ(ResolveConnection(flags, path).status().code(), absl::StatusCode::kInvalidArgument);  // both
  flags.token.reset();
  flags.token_file = dir.path() + "/missing";
  EXPECT_THAT(std::string(ResolveConnection(flags, path).status().message()), HasSubstr("missing"));
  flags = {};
  flags.profile = "nope";
  EXPECT_THAT(std::string(ResolveConnection(flags, path).status().message()), HasSubstr("\"nope\""));
  // No file at all: no profile, nothing fails.
  EXPECT_TRUE(ResolveConnection({}, dir.path() + "/none.json").ok());
}

TEST(SubmitTest, ResolvesPathsAgainstTheSpecAndRemovesThem) {
  TempDir dir;
  WriteText(dir.File("jobs/spec.json"), R"({"name": "n", "model": "m.onnx", "eval_dataset": "../d/eval.json",
      "calibration": {"dataset": "/abs/cal.json", "samples": 8}, "configs": ["fp32"], "seed": 3})");
  auto r = ReadSpecFile(dir.path() + "/jobs/spec.json");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->model, dir.path() + "/jobs/m.onnx");
  EXPECT_EQ(r->eval_dataset, dir.path() + "/d/eval.json");
  EXPECT_EQ(r->calibration_dataset, "/abs/cal.json");
  EXPECT_EQ(r->spec, nlohmann::json::parse(R"({"name": "n", "calibration": {"samples": 8}, "configs": ["fp32"],
                                              "seed": 3})"));

  auto bad = ResolveSpec(R"({"model": 3})", "/", "s.json");
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("job spec s.json: field \"model\""));
  EXPECT_FALSE(ResolveSpec("[1]", "/", "s").ok());
  EXPECT_FALSE(ResolveSpec("{", "/", "s").ok());
}

TEST(SubmitTest, EachDistinctPathIsUploadedOnce) {
  ResolvedSpec spec;
  spec.spec = {{"configs", {"fp32"}}};
  spec.model = "/m.onnx";
  spec.eval_dataset = spec.calibration_dataset = "/d.json";
  std::vector<std::pair<std::string, bool>> calls;
  auto req = BuildCreateJobRequest(spec, false, [&](const std::string& path, bool dataset) {
    calls.emplace_back(path, dataset);
    return absl::StatusOr<std::string>("blobs/" + std::string(64, dataset ? 'd' : 'm'));
  });
  ASSERT_TRUE(req.ok());
  EXPECT_THAT(calls, ElementsAre(Pair("/m.onnx", false), Pair("/d.json", true)));
  EXPECT_EQ(req->model().blob(), "blobs/" + std::string(64, 'm'));
  EXPECT_EQ(req->model().manifest(), "");
  EXPECT_EQ(req->eval_dataset().blob(), req->calibration_dataset().blob());
  EXPECT_EQ(req->calibration_dataset().manifest(), "dataset.json");
  EXPECT_EQ(nlohmann::json::parse(req->spec_json()), spec.spec);

  auto shared = BuildCreateJobRequest(spec, true, nullptr);
  ASSERT_TRUE(shared.ok());
  EXPECT_EQ(shared->eval_dataset().shared_path(), "/d.json");

  auto failed = BuildCreateJobRequest(spec, false, [](const std::string&, bool) {
    return absl::StatusOr<std::string>(absl::UnavailableError("down"));
  });
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
}

TEST(SubmitTest, RequestIdsAreFreshUuids) {
  const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  const std::string a = NewRequestId(), b = NewRequestId();
  EXPECT_TRUE(std::regex_match(a, uuid)) << a;
  EXPECT_NE(a, b);
}

TEST(ProgressBarTest, DrawsOneUpdatingLineOnlyWhenEnabled) {
  std::ostringstream tty, log;
  {
    ProgressBar bar(tty, "model.onnx", true);
    bar.Update(0, 4 << 20);
    bar.Update(4 << 20, 4 << 20);  // 100% is always drawn
  }
  const std::string text = tty.str();
  EXPECT_THAT(text, HasSubstr("\rmodel.onnx  100%  4.0/4.0 MiB"));
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
  ProgressBar off(log, "x", false);
  off.Update(1, 1);
  off.Finish();
  EXPECT_EQ(log.str(), "");
}

TEST(JobFormatTest, EventsReadAsOneLineEach) {
  v1::JobEvent e;
  e.mutable_state_changed()->set_state(v1::RUNNING);
  e.mutable_state_changed()->set_stage(v1::BENCHMARKING);
  EXPECT_EQ(FormatEvent(e), "state RUNNING (BENCHMARKING)");
  e.mutable_progress()->set_config("w4a8");
  e.mutable_progress()->set_stage(v1::EVALUATING);
  e.mutable_progress()->set_done(64);
  e.mutable_progress()->set_total(1000);
  EXPECT_EQ(FormatEvent(e), "w4a8 EVALUATING 64/1000");
  e.mutable_result()->set_config("w4a8");
  e.mutable_result()->set_error("no int4 kernel");
  EXPECT_EQ(FormatEvent(e), "result w4a8: error: no int4 kernel");
  // A result's line gives p50 with its interval once the server sends one.
  v1::ConfigResult& r = *e.mutable_result();
  r.set_error("");
  r.set_config("fp32");
  r.set_is_baseline(true);  // the baseline's line carries no delta against itself
  r.set_top1(0.9);
  auto* l = r.add_latency();
  l->set_batch_size(1);
  l->set_p50_ms(1.25);
  EXPECT_EQ(FormatEvent(e), "result fp32: top-1 90.00%, p50 1.250 ms at batch 1");
  l->set_sessions(5);
  l->set_median_ci_low_ms(1.2);
  l->set_median_ci_high_ms(1.3126);
  EXPECT_EQ(FormatEvent(e), "result fp32: top-1 90.00%, p50 1.250 ms [1.200, 1.313] at batch 1");
}

// Which workers can claim a job naming attached devices: online ones that have every
// selector, by device id (the name's last part) or class.
TEST(JobFormatTest, WorkersWithDevicesNeedEverySelectorOnline) {
  google::protobuf::RepeatedPtrField<qbench::v1::Worker> workers;
  auto add = [&](const std::string& id, bool online, std::vector<std::pair<std::string, std::string>> devices) {
    qbench::v1::Worker* w = workers.Add();
    w->set_name("workers/" + id);
    w->set_online(online);
    for (const auto& [name, cls] : devices) {
      qbench::v1::Device* d = w->add_devices();
      d->set_name("workers/" + id + "/devices/" + name);
      d->set_device_class(cls);
    }
  };
  add("a", true, {{"cpu0", "cpu"}, {"ort-cpu", "cpu-ort"}});
  add("b", true, {{"cpu0", "cpu"}, {"ort-cpu", "cpu-ort"}, {"t4", "gpu-trt"}});
  add("c", false, {{"cpu0", "cpu"}, {"t4", "gpu-trt"}});
  EXPECT_EQ(WorkersWithDevices(workers, {"ort-cpu"}), (std::vector<std::string>{"workers/a", "workers/b"}));
  EXPECT_EQ(WorkersWithDevices(workers, {"cpu-ort", "gpu-trt"}), (std::vector<std::string>{"workers/b"}));
  EXPECT_EQ(WorkersWithDevices(workers, {"t4"}), (std::vector<std::string>{"workers/b"})) << "c is offline";
  EXPECT_TRUE(WorkersWithDevices(workers, {"npu"}).empty());
  EXPECT_TRUE(WorkersWithDevices(workers, {"devices"}).empty()) << "a selector is a whole id, not a name part";
}

}  // namespace
}  // namespace qbench::client
