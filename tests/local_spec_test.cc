// The worker turns a claimed job's stored spec into a local one (worker/daemon/local_spec.h)
// with the spec library's parser: hostile JSON there is an error, never an exception that
// takes the worker down (issue 17, finding 1).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "worker/daemon/local_spec.h"

namespace qbench::worker {
namespace {

using ::testing::HasSubstr;

class LocalSpecTest : public ::testing::Test {
 protected:
  LocalSpecTest() : dir_(std::filesystem::temp_directory_path() / "qb_local_spec_test"), cache_(dir_.string(), std::nullopt) {}
  ~LocalSpecTest() override { std::filesystem::remove_all(dir_); }

  absl::StatusOr<JobSpec> Local(const std::string& spec_json, const std::string& config_json = "") {
    store::ClaimedJob job;
    job.spec_json = spec_json;
    if (!config_json.empty()) job.configs.push_back(store::JobConfig{.name = "w8a8", .spec_json = config_json});
    return LocalJobSpec(job, store::JobAssets{}, cache_, "");
  }

  std::filesystem::path dir_;
  AssetCache cache_;
};

TEST_F(LocalSpecTest, HostileJsonIsAnError) {
  auto s = Local(R"({"samples": 1e400})");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("job spec: not valid JSON: a number is too large"));
  s = Local(R"({"name": )" + std::string(100000, '[') + std::string(100000, ']') + "}");
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("job spec: nests arrays and objects deeper than"));
  s = Local("{}", R"({"weights": {"bits": 1e400}})");
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("configuration \"w8a8\": not valid JSON"));
  s = Local("{}", std::string(100000, '[') + std::string(100000, ']'));
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("configuration \"w8a8\": nests"));
  // A good configuration parses; what is left is the job's missing model (no assets here).
  s = Local("{}", R"({"weights": {"bits": 4}})");
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("\"model\" is required"));
}

}  // namespace
}  // namespace qbench::worker
