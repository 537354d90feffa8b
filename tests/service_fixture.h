// The fixture of the end-to-end service tests: a lab per test (tests/service_lab.h: a
// throwaway PostgreSQL, the qbench-server binary, qbench-worker processes) and helpers for
// the API and the qbench CLI as a team. A failed test prints the processes' logs.
#pragma once

#include <gtest/gtest.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "tests/service_lab.h"
#include "tests/subprocess.h"
#include "tests/test_paths.h"

namespace qbench::testing {

class ServiceFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    LabOptions o;
    o.server_binary = QB_SERVER_BINARY;
    o.worker_binary = QB_WORKER_BINARY;
    auto lab = Lab::Start(o);
    ASSERT_TRUE(lab.ok()) << lab.status();
    lab_ = *std::move(lab);
  }
  void TearDown() override {
    if (HasFailure() && lab_) {  // the logs say what the processes saw
      std::cerr << "--- server log ---\n" << ReadTextFile(lab_->ServerLog());
      for (const std::string& id : started_) std::cerr << "--- worker " << id << " ---\n" << ReadTextFile(lab_->WorkerLog(id));
    }
  }

  int StartWorker(const std::string& id, const std::vector<std::string>& extra = {}) {
    auto w = lab_->StartWorker(id, extra);
    EXPECT_TRUE(w.ok()) << w.status();
    started_.push_back(id);
    return w.ok() ? *w : -1;
  }

  // CreateJob with shared paths; returns the job (or fails the test).
  v1::Job Create(const std::string& team, const std::string& spec, const std::string& request_id = "",
                 grpc::Status* status = nullptr) {
    v1::CreateJobRequest req;
    req.set_spec_json(spec);
    req.set_request_id(request_id);
    v1::Job job;
    auto ctx = Lab::Context(lab_->token(team));
    grpc::Status s = lab_->jobs().CreateJob(ctx.get(), req, &job);
    if (status) *status = s;
    else EXPECT_TRUE(s.ok()) << s.error_message();
    return job;
  }

  v1::JobResults Results(const std::string& team, const std::string& name) {
    v1::GetResultsRequest req;
    req.set_name(name);
    v1::JobResults r;
    auto ctx = Lab::Context(lab_->token(team));
    grpc::Status s = lab_->jobs().GetResults(ctx.get(), req, &r);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return r;
  }

  // The qbench CLI as team `team`; returns its exit code and stdout.
  int Cli(const std::string& team, std::vector<std::string> args, std::string* out = nullptr) {
    std::vector<std::string> argv = {QB_CLI_BINARY, "--server", lab_->address(), "--insecure", "--token-file",
                                     lab_->token_file(team)};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string ignored;
    return RunCommand(argv, out ? out : &ignored, lab_->dir() + "/cli.log");
  }

  std::unique_ptr<Lab> lab_;
  std::vector<std::string> started_;
};

}  // namespace qbench::testing
