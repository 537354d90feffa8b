#include "client/test_server.h"

#include <filesystem>

#include <gtest/gtest.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "server/api_state.h"
#include "tests/tls_test_util.h"

namespace qbench::client::testing {

namespace v1 = qbench::v1;
using server::JobRecord;
using server::JobState;

namespace {

v1::JobState ToProtoState(JobState s) { return server::ToApiState(s); }

}  // namespace

// ---- MemoryJobs ------------------------------------------------------------------------

absl::StatusOr<JobRecord*> MemoryJobs::Find(const std::string& team_id, int64_t id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second.job.team_id != team_id)  // another team's job is NOT_FOUND too
    return absl::NotFoundError(absl::StrCat("job jobs/", id, " not found"));
  return &it->second;
}

absl::StatusOr<JobRecord> MemoryJobs::CreateJob(const server::NewJob& job) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!job.request_id.empty())
    for (const auto& [id, r] : jobs_)
      if (r.job.team_id == job.team_id && r.job.request_id == job.request_id) return r;
  JobRecord r;
  r.id = next_id_++;
  r.job = job;
  r.create_time = absl::Now();
  return jobs_[r.id] = r;
}

absl::StatusOr<JobRecord> MemoryJobs::GetJob(const std::string& team_id, int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto r = Find(team_id, id);
  if (!r.ok()) return r.status();
  return **r;
}

absl::StatusOr<server::JobPage> MemoryJobs::ListJobs(const std::string& team_id, const server::JobFilter& filter,
                                                     int32_t page_size, const std::string& page_token) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t before = INT64_MAX;  // the token: list ids below this one
  if (!page_token.empty() && !absl::SimpleAtoi(page_token, &before))
    return absl::InvalidArgumentError("page_token: malformed");
  server::JobPage page;
  for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) {  // newest first
    const JobRecord& r = it->second;
    if (r.id >= before || r.job.team_id != team_id) continue;
    if (filter.state && r.state != *filter.state) continue;
    if (filter.display_name && r.job.display_name != *filter.display_name) continue;
    if (static_cast<int32_t>(page.jobs.size()) == page_size) {
      page.next_page_token = absl::StrCat(page.jobs.back().id);
      break;
    }
    page.jobs.push_back(r);
  }
  return page;
}

absl::StatusOr<JobRecord> MemoryJobs::CancelJob(const std::string& team_id, int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto r = Find(team_id, id);
  if (!r.ok()) return r.status();
  JobRecord& job = **r;
  if (job.state == JobState::kQueued) job.state = JobState::kCancelled;
  else if (job.state == JobState::kRunning) job.state = JobState::kCancelling;
  else if (job.state != JobState::kCancelling)
    return absl::FailedPreconditionError(absl::StrCat("jobs/", id, " has already ended"));
  return job;
}

absl::StatusOr<MemoryJobs::EventsPage> MemoryJobs::ListEvents(const std::string& team_id, int64_t id,
                                                              int64_t after_sequence) {
  std::lock_guard<std::mutex> lock(mu_);
  auto r = Find(team_id, id);
  if (!r.ok()) return r.status();
  EventsPage page;
  for (const v1::JobEvent& e : events_[id])
    if (e.sequence() > after_sequence) page.events.push_back(e);
  const JobState s = (*r)->state;
  page.ended = s == JobState::kSucceeded || s == JobState::kFailed || s == JobState::kCancelled;
  return page;
}

absl::StatusOr<std::vector<int64_t>> MemoryJobs::WaitForEvents(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait_for(lock, absl::ToChronoMilliseconds(timeout), [&] { return !pending_.empty(); });
  return std::exchange(pending_, {});
}

absl::StatusOr<v1::JobResults> MemoryJobs::GetResults(const std::string& team_id, int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto r = Find(team_id, id);
  if (!r.ok()) return r.status();
  v1::JobResults out = results_[id];
  out.set_job(absl::StrCat("jobs/", id));
  out.set_state(ToProtoState((*r)->state));
  return out;
}

absl::StatusOr<MemoryJobs::ExportBlob> MemoryJobs::FindExport(const std::string& team_id, int64_t id,
                                                              const std::string& config) {
  std::lock_guard<std::mutex> lock(mu_);
  auto r = Find(team_id, id);
  if (!r.ok()) return r.status();
  auto it = exports_.find({id, config});
  if (it == exports_.end()) return absl::NotFoundError(absl::StrCat("jobs/", id, " has no export of \"", config, "\""));
  return it->second;
}

void MemoryJobs::AddEvent(int64_t id, v1::JobEvent event) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& list = events_[id];
    event.set_sequence(static_cast<int64_t>(list.size()) + 1);
    event.mutable_time()->set_seconds(absl::ToUnixSeconds(absl::Now()));
    if (event.has_state_changed()) {
      JobRecord& r = jobs_.at(id);
      r.state = server::FromApiState(event.state_changed().state()).value_or(JobState::kFailed);
      r.stage = static_cast<server::JobStage>(event.state_changed().stage());
      r.failure_reason = event.state_changed().reason();
    }
    list.push_back(event);
    pending_.push_back(id);
  }
  changed_.notify_all();
}

void MemoryJobs::SetResults(int64_t id, const v1::JobResults& results) {
  std::lock_guard<std::mutex> lock(mu_);
  results_[id] = results;
}

void MemoryJobs::SetExport(int64_t id, const std::string& config, const std::string& sha256, int64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  exports_[{id, config}] = ExportBlob{sha256, size};
}

JobRecord MemoryJobs::Job(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  return jobs_.at(id);
}

int64_t MemoryJobs::count() {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(jobs_.size());
}

// ---- TestServer ------------------------------------------------------------------------

TestServer::TestServer(const Options& options) : options_(options) {
  // The token file holds hashes only, as in production.
  const std::string tokens = dir_.File("tokens");
  data::test_util::WriteText(tokens, absl::StrCat("# test tokens\n", Sha256Hex(kToken), " acme\n",
                                                  Sha256Hex(kAdminToken), " ops admin\n"));
  auto verifier = server::FileTokenVerifier::Load(tokens);
  EXPECT_TRUE(verifier.ok()) << verifier.status();
  if (!verifier.ok()) return;
  verifier_ = std::move(verifier).value();
  if (options.tls) {
    ca_file_ = dir_.File("cert.pem");
    const qbench::testing::TlsPair pair = qbench::testing::SelfSignedLocalhost();
    data::test_util::WriteText(ca_file_, pair.cert);
    data::test_util::WriteText(dir_.File("key.pem"), pair.key);
  }
  Start(0);
}

void TestServer::Start(int port) {
  server::ServerOptions so;
  so.listen = absl::StrCat("127.0.0.1:", port);
  so.data_dir = dir_.File("data");
  so.max_upload_bytes = int64_t{64} << 20;
  // The tests' own files live in temporary folders; `--shared` submissions name them.
  so.job_limits.shared_roots = {std::filesystem::canonical(std::filesystem::temp_directory_path()).string()};
  if (options_.tls) {
    so.tls_cert = ca_file_;
    so.tls_key = dir_.path() + "/key.pem";
  } else {
    so.insecure = true;
  }
  server::ServerDeps deps;
  deps.verifier = verifier_.get();
  if (options_.with_jobs) deps.jobs = &jobs_;
  auto s = server::QbServer::Start(so, deps);
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok()) return;
  server_ = std::move(s).value();
  port_ = server_->port();
}

void TestServer::Restart() {
  server_.reset();
  Start(port_);
}

TestServer::~TestServer() { Shutdown(); }

void TestServer::Shutdown() { server_.reset(); }

std::string TestServer::address() const {
  return absl::StrCat(options_.tls ? "localhost" : "127.0.0.1", ":", port_);
}

Connection TestServer::connection(const std::string& token) const {
  Connection c;
  c.server = address();
  c.insecure = !options_.tls;
  c.ca_file = ca_file_;
  c.token = token;
  return c;
}

}  // namespace qbench::client::testing
