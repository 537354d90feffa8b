// qbench-submit-load: N concurrent clients each submit M small jobs to a whole local
// deployment (a throwaway PostgreSQL, the qbench-server binary, W qbench-worker
// processes: tests/service_lab.h), then wait for every job to finish. Prints the submit
// (CreateJob round trip) latency's median, p90, p99 and max over all submits, the time to
// drain the queue, and how many jobs completed, ran more than once, or went missing.
// Goal (issue 4): 50 clients x 20 jobs, p99 submit under 25 ms, all completed.
//
//   qbench-submit-load [--clients 50] [--jobs 20] [--workers 2]
#include <grpcpp/create_channel.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/flags.h"
#include "tests/service_lab.h"

namespace {

// "UNAVAILABLE: message" (gRPC and absl share the canonical code numbering).
std::string Describe(const grpc::Status& s) {
  return absl::StrCat(absl::StatusCodeToString(static_cast<absl::StatusCode>(s.error_code())), ": ", s.error_message());
}


constexpr qbench::FlagSpec kFlags[] = {
    {"--clients", "N", "concurrent clients, each on its own channel (default 50)"},
    {"--jobs", "M", "jobs each client submits, one after another (default 20)"},
    {"--workers", "W", "qbench-worker processes draining the queue (default 2; 0: submit only)"},
    {"--help", nullptr, "show this help"},
};

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5))];
}

}  // namespace

int main(int argc, char** argv) {
  using namespace qbench;
  int clients = 50, jobs = 20, workers = 2;
  auto flags = ParseFlags(argc, argv, kFlags);
  if (!flags.ok()) {
    std::fprintf(stderr, "qbench-submit-load: %s\n%s", std::string(flags.status().message()).c_str(),
                 FlagHelp(kFlags).c_str());
    return 2;
  }
  for (const auto& [name, value] : *flags) {
    if (name == "--help") {
      std::fputs(FlagHelp(kFlags).c_str(), stdout);
      return 0;
    }
    auto n = FlagInt(name, value, name == "--workers" ? 0 : 1);
    if (!n.ok()) {
      std::fprintf(stderr, "qbench-submit-load: %s\n", std::string(n.status().message()).c_str());
      return 2;
    }
    (name == "--clients" ? clients : name == "--jobs" ? jobs : workers) = static_cast<int>(*n);
  }

  setenv("QB_SOURCE_DIR", QB_SOURCE_DIR_DEFAULT, /*overwrite=*/0);  // migrations and the bundled model
  testing::LabOptions o;
  o.server_binary = QB_SERVER_BINARY;
  o.worker_binary = QB_WORKER_BINARY;
  auto lab = testing::Lab::Start(o);
  if (!lab.ok()) {
    std::fprintf(stderr, "qbench-submit-load: %s\n", std::string(lab.status().message()).c_str());
    return 1;
  }
  for (int w = 0; w < workers; ++w) {
    if (auto s = (*lab)->StartWorker(absl::StrCat("w", w)); !s.ok()) {
      std::fprintf(stderr, "qbench-submit-load: %s\n", std::string(s.status().message()).c_str());
      return 1;
    }
  }
  // The smallest real job: FP32 on 32 Fashion-MNIST images, batch 1, a 10 ms latency loop.
  const std::string spec = testing::SmallSpec({"fp32"}, 32, {1}, 0.01);

  std::mutex mu;
  std::vector<double> latency_ms;
  std::vector<std::string> names;
  std::atomic<int> errors{0}, retries{0};
  std::map<std::string, int> error_counts;  // guarded by mu
  std::vector<std::thread> threads;
  const absl::Time t0 = absl::Now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      // One channel per client, as separate CLI processes would have.
      grpc::ChannelArguments args;
      args.SetInt("qbench-client", c);  // distinct args: no channel sharing inside gRPC
      auto stub = v1::Jobs::NewStub(
          grpc::CreateCustomChannel((*lab)->address(), grpc::InsecureChannelCredentials(), args));
      for (int j = 0; j < jobs; ++j) {
        v1::CreateJobRequest req;
        req.set_spec_json(spec);
        req.set_request_id(absl::StrCat("load-", c, "-", j));
        v1::Job job;
        // As the CLI does: a transient failure (UNAVAILABLE, DEADLINE_EXCEEDED) is retried
        // with the same request_id, up to 3 times with backoff; the latency includes it.
        const absl::Time s0 = absl::Now();
        grpc::Status s;
        for (int attempt = 0; attempt < 4; ++attempt) {
          if (attempt > 0) {
            ++retries;
            absl::SleepFor(absl::Milliseconds(50 << attempt));
          }
          auto ctx = testing::Lab::Context((*lab)->token("acme"));
          s = stub->CreateJob(ctx.get(), req, &job);
          if (s.error_code() != grpc::StatusCode::UNAVAILABLE && s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED)
            break;
          std::lock_guard<std::mutex> lock(mu);
          ++error_counts[absl::StrCat("retried ", Describe(s))];
        }
        const double ms = absl::ToDoubleMilliseconds(absl::Now() - s0);
        std::lock_guard<std::mutex> lock(mu);
        if (!s.ok()) {
          ++errors;
          ++error_counts[Describe(s)];
          continue;
        }
        latency_ms.push_back(ms);
        names.push_back(job.name());
      }
    });
  }
  for (auto& t : threads) t.join();
  const double submit_s = absl::ToDoubleSeconds(absl::Now() - t0);

  int succeeded = 0, failed = 0, retried = 0;
  for (const std::string& n : workers > 0 ? names : std::vector<std::string>{}) {
    auto job = (*lab)->WaitForEnd((*lab)->token("acme"), n, absl::Minutes(30));
    if (job.ok() && job->state() == v1::SUCCEEDED) ++succeeded;
    else ++failed;
    if (job.ok() && job->attempts() != 1) ++retried;
  }
  for (const auto& [message, count] : error_counts) std::printf("submit error x%d: %s\n", count, message.c_str());
  const double drain_s = absl::ToDoubleSeconds(absl::Now() - t0);
  const int total = clients * jobs;
  std::printf("submit-load: %d clients x %d jobs = %d submits in %.2f s (%d workers)\n", clients, jobs, total, submit_s,
              workers);
  if (!latency_ms.empty())
    std::printf("submit latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (n = %zu)\n", Percentile(latency_ms, 0.5),
                Percentile(latency_ms, 0.9), Percentile(latency_ms, 0.99), Percentile(latency_ms, 1.0),
                latency_ms.size());
  std::printf("jobs: %d acknowledged, %d succeeded, %d failed or unfinished, %d submit errors (%d retries), "
              "%d ran more than once\n",
              static_cast<int>(names.size()), succeeded, failed, errors.load(), retries.load(), retried);
  std::printf("queue drained after %.1f s (%.1f jobs/s)\n", drain_s, succeeded / drain_s);
  const bool goal = !latency_ms.empty() && Percentile(latency_ms, 0.99) < 25.0 && (succeeded == total || workers == 0);
  std::printf("goal (p99 < 25 ms, all %d completed): %s\n", total, goal ? "met" : "MISSED");
  return (succeeded == total || workers == 0) && errors == 0 ? 0 : 1;
}
