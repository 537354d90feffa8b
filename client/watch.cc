#include "client/watch.h"

#include <algorithm>
#include <ostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/job_format.h"
#include "common/status.h"
#include "qbench/v1/qbench.grpc.pb.h"

namespace qbench::client {
namespace {

namespace v1 = qbench::v1;

std::string Clock(const google::protobuf::Timestamp& t) {
  const absl::Time time = t.seconds() != 0 ? absl::FromUnixSeconds(t.seconds()) : absl::Now();
  return absl::FormatTime("%H:%M:%S", time, absl::LocalTimeZone());
}

// One WatchJob stream from after `*last`; advances `*last` per event printed.
absl::Status WatchOnce(v1::Jobs::Stub& stub, const Connection& c, const std::string& job, int64_t* last,
                       std::ostream& out) {
  grpc::ClientContext ctx;
  Authorize(&ctx, c, absl::InfiniteDuration());  // lives as long as the job runs
  v1::WatchJobRequest req;
  req.set_name(job);
  req.set_after_sequence(*last);
  auto reader = stub.WatchJob(&ctx, req);
  v1::JobEvent e;
  while (reader->Read(&e)) {
    if (e.sequence() <= *last) continue;  // a replay after reconnecting
    *last = e.sequence();
    out << "[" << Clock(e.time()) << "] " << FormatEvent(e) << "\n" << std::flush;
  }
  return FromGrpc(reader->Finish());
}

absl::StatusOr<v1::Job> GetJob(v1::Jobs::Stub& stub, const Connection& c, const std::string& job) {
  grpc::ClientContext ctx;
  Authorize(&ctx, c);
  v1::GetJobRequest req;
  req.set_name(job);
  v1::Job out;
  QB_RETURN_IF_ERROR(FromGrpc(stub.GetJob(&ctx, req, &out)));
  return out;
}

}  // namespace

absl::StatusOr<v1::Job> FollowJob(const Connection& c, const std::string& job, std::ostream& out, std::ostream& err,
                                  const WatchOptions& options) {
  auto stub = v1::Jobs::NewStub(MakeChannel(c));
  int64_t last = 0;
  int failures = 0;
  absl::Duration backoff = options.first_backoff;
  for (;;) {
    const int64_t before = last;
    absl::Status s = WatchOnce(*stub, c, job, &last, out);
    absl::StatusOr<v1::Job> state = s.ok() ? GetJob(*stub, c, job) : s;
    if (state.ok() && IsTerminal(state->state())) return state;
    // Anything but a transient break (and a stream that ended early) is final.
    if (!state.ok() && !IsTransient(state.status())) return Annotate(state.status(), absl::StrCat("watch ", job));
    if (last > before) {  // progress since the last break: start counting afresh
      failures = 0;
      backoff = options.first_backoff;
    }
    if (++failures > options.max_reconnects)
      return Annotate(state.ok() ? absl::UnavailableError("the event stream keeps ending before the job does")
                                 : state.status(),
                      absl::StrCat("watch ", job, ": gave up after ", options.max_reconnects, " reconnects"));
    err << "qbench: watch " << job << ": " << (state.ok() ? "stream ended early" : state.status().message())
        << "; reconnecting after event " << last << "\n";
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(backoff));
    backoff = std::min(backoff * 2, options.max_backoff);
  }
}

absl::StatusOr<v1::JobResults> FetchResults(const Connection& c, const std::string& job) {
  auto stub = v1::Jobs::NewStub(MakeChannel(c));
  absl::Status s;
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(250 << attempt));
    grpc::ClientContext ctx;
    Authorize(&ctx, c);
    v1::GetResultsRequest req;
    req.set_name(job);
    v1::JobResults out;
    s = FromGrpc(stub->GetResults(&ctx, req, &out));
    if (s.ok()) return out;
    if (!IsTransient(s)) break;
  }
  return Annotate(s, absl::StrCat("results of ", job));
}

}  // namespace qbench::client
