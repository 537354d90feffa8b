#include "worker/daemon/engine_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <thread>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status.h"
#include "server/store/db.h"
#include "worker/daemon/job_runner.h"
#include "worker/daemon/log.h"
#include "worker/daemon/store_retry.h"
#include "spec/job_spec.h"
#include "engine/runtime/session.h"
#include "engine/device/protocol.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define QB_SANITIZER_SHADOW 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define QB_SANITIZER_SHADOW 1
#endif
#endif

namespace qbench::worker {
namespace {

using nlohmann::json;

constexpr int kChildFd = 3;       // the child's end of the socket pair
constexpr int kExitBase = 10;     // child exit code = kExitBase + JobEnd
constexpr int kExitHandOver = 2;  // the hand-over line was missing or malformed

// Lines over a socket: blocking reads, one '\n'-terminated line at a time.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  // False at EOF or on an error.
  bool Next(std::string* line) {
    for (;;) {
      if (size_t nl = buf_.find('\n'); nl != std::string::npos) {
        *line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return true;
      }
      char chunk[4096];
      const ssize_t n = ::read(fd_, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }
  // Non-blocking variant for the parent: appends what is there (after poll said so).
  // False once the peer closed its end.
  bool Drain(std::vector<std::string>* lines) {
    char chunk[4096];
    const ssize_t n = ::read(fd_, chunk, sizeof(chunk));
    if (n < 0) return errno == EINTR || errno == EAGAIN;
    if (n == 0) return false;
    buf_.append(chunk, static_cast<size_t>(n));
    for (size_t nl; (nl = buf_.find('\n')) != std::string::npos;) {
      lines->push_back(buf_.substr(0, nl));
      buf_.erase(0, nl + 1);
    }
    return true;
  }

 private:
  int fd_;
  std::string buf_;
};

// Sends all of `text` (MSG_NOSIGNAL: a dead peer is an error, not SIGPIPE).
bool SendAll(int fd, const std::string& text) {
  size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::send(fd, text.data() + off, text.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

int64_t MemoryBudget(const JobLimits& limits) {
  return limits.memory_bytes > 0 ? limits.memory_bytes : std::max<int64_t>(PhysicalMemoryBytes() / 2, 256 << 20);
}

// ---- the hand-over: everything the child needs, as one JSON line ----------------------

// JobSpecLimits by their --job-limit names (kJobSpecLimits), plus the thread cap.
json SpecLimitsJson(const JobSpecLimits& l) {
  json j = {{"cap_threads_at_cpus", l.cap_threads_at_cpus}};
  for (int i = 0; i < kJobSpecLimitCount; ++i) {
    const JobSpecLimitDef& d = kJobSpecLimits[i];
    if (d.integer) j[d.name] = l.*(d.integer);
    else j[d.name] = l.*(d.number);
  }
  return j;
}

JobSpecLimits SpecLimitsFromJson(const json& j) {
  JobSpecLimits l;
  l.cap_threads_at_cpus = j.at("cap_threads_at_cpus").get<bool>();
  for (int i = 0; i < kJobSpecLimitCount; ++i) {
    const JobSpecLimitDef& d = kJobSpecLimits[i];
    if (d.integer) l.*(d.integer) = j.at(d.name).get<int64_t>();
    else l.*(d.number) = j.at(d.name).get<double>();
  }
  return l;
}

json HandOver(const RunnerContext& ctx, const store::ClaimedJob& job) {
  json configs = json::array();
  for (const store::JobConfig& c : job.configs)
    configs.push_back({{"name", c.name}, {"spec_json", c.spec_json}, {"is_baseline", c.is_baseline}});
  json j = {
      {"lease", {{"job_id", job.lease.job_id}, {"worker_id", job.lease.worker_id}, {"attempt", job.lease.attempt}}},
      {"team_id", job.team_id},
      {"spec_json", job.spec_json},
      {"configs", configs},
      {"device_class", job.device_class},
      {"max_attempts", job.max_attempts},
      {"db_uri", ctx.options.db_uri},
      {"worker", ctx.worker.info.id},
      {"cache_dir", ctx.cache.dir()},
      {"lease_ms", absl::ToInt64Milliseconds(ctx.options.lease)},
      {"db_retry_ms", absl::ToInt64Milliseconds(ctx.options.db_retry)},
      {"memory_budget_bytes", MemoryBudget(ctx.limits)},
      {"wall_ms", absl::ToInt64Milliseconds(ctx.limits.wall)},
      {"spec_limits", SpecLimitsJson(ctx.options.spec_limits)},
      {"shared_roots", ctx.options.shared_roots},
      {"devices", device::AttachedJson(ctx.options.devices)},
  };
  if (job.device_name) j["device_name"] = *job.device_name;
  if (const auto& s = ctx.options.server)
    j["server"] = {{"server", s->server}, {"insecure", s->insecure}, {"ca_file", s->ca_file}, {"token", s->token}};
  return j;
}

struct ChildJob {
  DaemonOptions options;
  store::ClaimedJob job;
  std::string cache_dir;
  int64_t memory_budget_bytes = 0;
  absl::Duration wall;
};

absl::StatusOr<ChildJob> ParseHandOver(const std::string& line) {
  const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::InvalidArgumentError("the hand-over is not a JSON object");
  try {
    ChildJob c;
    const json& lease = j.at("lease");
    c.job.lease.job_id = lease.at("job_id").get<int64_t>();
    c.job.lease.worker_id = lease.at("worker_id").get<std::string>();
    c.job.lease.attempt = lease.at("attempt").get<int>();
    c.job.team_id = j.at("team_id").get<int64_t>();
    c.job.spec_json = j.at("spec_json").get<std::string>();
    for (const json& k : j.at("configs"))
      c.job.configs.push_back(
          {k.at("name").get<std::string>(), k.at("spec_json").get<std::string>(), k.at("is_baseline").get<bool>()});
    c.job.device_class = j.at("device_class").get<std::string>();
    if (j.contains("device_name")) c.job.device_name = j["device_name"].get<std::string>();
    c.job.max_attempts = j.at("max_attempts").get<int>();
    c.options.db_uri = j.at("db_uri").get<std::string>();
    c.options.id = j.at("worker").get<std::string>();
    c.cache_dir = j.at("cache_dir").get<std::string>();
    c.options.cache_dir = c.cache_dir;
    c.options.lease = absl::Milliseconds(j.at("lease_ms").get<int64_t>());
    c.options.db_retry = absl::Milliseconds(j.at("db_retry_ms").get<int64_t>());
    c.memory_budget_bytes = j.at("memory_budget_bytes").get<int64_t>();
    c.wall = absl::Milliseconds(j.at("wall_ms").get<int64_t>());
    c.options.spec_limits = SpecLimitsFromJson(j.at("spec_limits"));
    c.options.shared_roots = j.at("shared_roots").get<std::vector<std::string>>();
    auto devices = device::AttachedFromJson(j.at("devices"));
    if (!devices.ok()) return absl::InvalidArgumentError(absl::StrCat("the hand-over: ", devices.status().message()));
    c.options.devices = std::move(*devices);
    if (j.contains("server")) {
      const json& s = j["server"];
      c.options.server = client::Connection{s.at("server").get<std::string>(), s.at("insecure").get<bool>(),
                                            s.at("ca_file").get<std::string>(), s.at("token").get<std::string>()};
    }
    return c;
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("the hand-over is malformed: ", e.what()));
  }
}

// ---- the parent -------------------------------------------------------------------

struct Child {
  pid_t pid = -1;
  int fd = -1;  // the parent's end of the socket pair
};

// fork + exec of `binary --engine-child` with the limits applied in between (only
// async-signal-safe calls after fork: the daemon has other threads).
absl::StatusOr<Child> Spawn(const std::string& binary, const JobLimits& limits) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return absl::ResourceExhaustedError(absl::StrCat("cannot create the engine process's socket: ", strerror(errno)));
  const std::string flag = kEngineChildFlag;
  char* const argv[] = {const_cast<char*>(binary.c_str()), const_cast<char*>(flag.c_str()), nullptr};
  // Limits computed before fork.
  const int64_t budget = MemoryBudget(limits);
  const rlim_t as_limit = static_cast<rlim_t>(std::min<int64_t>(budget, INT64_MAX / 4) * 2 + (int64_t{4} << 30));
  const long cores = std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN));
  const double cpu_seconds = absl::ToDoubleSeconds(limits.wall) * static_cast<double>(cores) + 60;
  const rlim_t cpu = cpu_seconds >= 1e15 ? RLIM_INFINITY : static_cast<rlim_t>(cpu_seconds);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(sv[0]);
    ::close(sv[1]);
    return absl::ResourceExhaustedError(absl::StrCat("cannot start the engine process: ", strerror(err)));
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    if (::dup2(sv[1], kChildFd) < 0) ::_exit(127);
    ::close_range(kChildFd + 1, ~0U, 0);
#ifndef QB_SANITIZER_SHADOW
    const struct rlimit as {as_limit, as_limit};
    ::setrlimit(RLIMIT_AS, &as);
#endif
    if (cpu != RLIM_INFINITY) {
      const struct rlimit c{cpu, cpu + 10};  // SIGXCPU at the soft limit, SIGKILL 10 s later
      ::setrlimit(RLIMIT_CPU, &c);
    }
    // Default dispositions: the daemon may ignore SIGPIPE; the engine should not inherit that.
    ::signal(SIGPIPE, SIG_DFL);
    ::execv(binary.c_str(), argv);
    ::_exit(127);
  }
  ::close(sv[1]);
  return Child{pid, sv[0]};
}

class Supervisor {
 public:
  Supervisor(const RunnerContext& ctx, store::Db& db, const store::ClaimedJob& job)
      : ctx_(ctx), db_(db), job_(job), name_(absl::StrCat("jobs/", job.lease.job_id)) {}

  JobEnd Run() {
    LeaseKeeper keeper(ctx_.options.db_uri, job_.lease, ctx_.options.lease, &flags_);
    auto child = Spawn(ctx_.limits.engine_binary, ctx_.limits);
    if (!child.ok()) return ConcludeJob(ctx_, db_, job_, flags_, child.status(), start_);
    child_ = *child;
    if (!SendAll(child_.fd, HandOver(ctx_, job_).dump() + "\n")) {
      Log(job_.lease.worker_id, absl::StrCat(name_, ": the engine process did not take the job"));
    }
    const int status = Supervise();
    ::close(child_.fd);
    if (WIFEXITED(status) && WEXITSTATUS(status) >= kExitBase &&
        WEXITSTATUS(status) <= kExitBase + static_cast<int>(JobEnd::kAbandoned))
      return static_cast<JobEnd>(WEXITSTATUS(status) - kExitBase);  // the child recorded it
    return ConcludeJob(ctx_, db_, job_, flags_, Abnormal(status), start_);
  }

 private:
  enum class Kill { kNone, kWallClock, kGrace };

  // Polls the child every 100 ms until it exits: relays flags, reads its stage lines,
  // enforces the wall-clock limit and the grace period. Returns the wait status.
  int Supervise() {
    LineReader reader(child_.fd);
    bool open = true;
    bool sent_cancel = false, sent_stop = false, sent_lost = false;
    absl::Time asked = absl::InfiniteFuture();
    for (;;) {
      if (open) {
        struct pollfd p {child_.fd, POLLIN, 0};
        if (::poll(&p, 1, 100) > 0) {
          std::vector<std::string> lines;
          open = reader.Drain(&lines);
          for (const std::string& l : lines) OnLine(l);
        }
      } else {
        absl::SleepFor(absl::Milliseconds(100));
      }
      int status = 0;
      const pid_t r = ::waitpid(child_.pid, &status, WNOHANG);
      if (r == child_.pid || (r < 0 && errno == ECHILD)) return r == child_.pid ? status : 0;
      const absl::Time now = absl::Now();
      auto ask = [&](bool& sent, const char* line) {
        if (sent) return;
        sent = true;
        asked = std::min(asked, now);
        (void)SendAll(child_.fd, std::string(line) + "\n");
      };
      if (flags_.cancel_requested.load()) ask(sent_cancel, "cancel");
      if (ctx_.stop.load()) ask(sent_stop, "stop");
      if (flags_.lost.load()) ask(sent_lost, "lost");
      // The child stops itself at the limit; past it by the grace period, it is killed.
      if (kill_ == Kill::kNone && now >= start_ + wall_limit_ + ctx_.limits.grace) KillChild(Kill::kWallClock);
      if (kill_ == Kill::kNone && now >= asked + ctx_.limits.grace) KillChild(Kill::kGrace);
    }
  }

  void KillChild(Kill why) {
    kill_ = why;
    ::kill(child_.pid, SIGKILL);
    Log(job_.lease.worker_id,
        absl::StrCat(name_, why == Kill::kWallClock ? ": past the job's wall-clock limit" : ": did not stop within ",
                     why == Kill::kWallClock ? "" : absl::FormatDuration(ctx_.limits.grace),
                     "; killing its engine process"));
  }

  // {"config": "w8a8", "stage": "quantizing"}: what the child is running.
  void OnLine(const std::string& line) {
    const json j = json::parse(line, nullptr, false);
    if (!j.is_object()) return;
    config_ = j.value("config", config_);
    stage_ = j.value("stage", stage_);
    if (const auto it = j.find("wall_limit_ms"); it != j.end() && it->is_number_integer())
      wall_limit_ = std::min(wall_limit_, absl::Milliseconds(it->get<int64_t>()));
  }

  std::string Where() const {
    if (config_.empty()) return "before it started a configuration";
    if (stage_ == "done") return absl::StrCat("after configuration \"", config_, "\" finished");
    return absl::StrCat("while running configuration \"", config_, "\"", stage_.empty() ? "" : " (", stage_,
                        stage_.empty() ? "" : ")");
  }

  // Why the child ended without recording the job's end, as the status to conclude with.
  absl::Status Abnormal(int status) const {
    if (kill_ == Kill::kWallClock)
      return absl::DeadlineExceededError(absl::StrCat("the job ran past its time limit of ",
                                                      absl::FormatDuration(wall_limit_),
                                                      " and its engine process, which did not stop, was killed ",
                                                      Where()));
    const bool stopping = flags_.cancel_requested.load() || flags_.lost.load() || ctx_.stop.load();
    if (WIFSIGNALED(status)) {
      const int sig = WTERMSIG(status);
      // Killed after a grace period, or by the same SIGTERM/SIGINT as the daemon.
      if (kill_ == Kill::kGrace || (stopping && (sig == SIGTERM || sig == SIGINT)))
        return absl::CancelledError("the engine process was stopped");
      std::string why = absl::StrCat("the engine process was killed by ", DescribeSignal(sig), " ", Where());
      if (sig == SIGKILL) absl::StrAppend(&why, " (SIGKILL: the kernel's out-of-memory killer, or an operator)");
      // Past its CPU-time limit: the same job would stop there again.
      if (sig == SIGXCPU) return absl::InternalError(absl::StrCat(why, " (past its CPU-time limit)"));
      return EngineCrashError(why);
    }
    if (kill_ == Kill::kGrace) return absl::CancelledError("the engine process was stopped");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
      return absl::InternalError("the engine process could not be started");
    return EngineCrashError(absl::StrCat("the engine process exited with status ",
                                         WIFEXITED(status) ? WEXITSTATUS(status) : -1, " ", Where()));
  }

  const RunnerContext& ctx_;
  store::Db& db_;
  const store::ClaimedJob& job_;
  const std::string name_;
  const absl::Time start_ = absl::Now();
  JobFlags flags_;
  Child child_;
  Kill kill_ = Kill::kNone;
  absl::Duration wall_limit_ = ctx_.limits.wall;  // lowered by the spec's max_job_seconds
  std::string config_, stage_;
};

// ---- the child --------------------------------------------------------------------

std::atomic<bool> g_child_stop{false};
extern "C" void OnChildSignal(int) { g_child_stop.store(true); }

}  // namespace

absl::StatusOr<JobLimits> JobLimitsFromFlags(const std::vector<std::pair<std::string, std::string>>& flags) {
  JobLimits l;
  for (const auto& [flag, value] : flags) {
    if (flag == "--job-memory-mib") {
      QB_ASSIGN_OR_RETURN(int64_t mib, FlagInt(flag, value, 64));
      if (mib > (int64_t{1} << 40)) return absl::InvalidArgumentError("--job-memory-mib is larger than 2^40");
      l.memory_bytes = mib << 20;
    } else if (flag == "--job-seconds") {
      QB_ASSIGN_OR_RETURN(double s, FlagDouble(flag, value, 1));
      if (s > 1e9) return absl::InvalidArgumentError("--job-seconds is larger than 1e9");
      l.wall = absl::Seconds(s);
    }
  }
  return l;
}

std::string DescribeSignal(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? absl::StrCat("signal ", sig, " (SIG", abbrev, ")") : absl::StrCat("signal ", sig);
}

JobEnd RunJobInEngineProcess(const RunnerContext& ctx, store::Db& db, const store::ClaimedJob& job) {
  return Supervisor(ctx, db, job).Run();
}

int EngineChildMain() {
  struct sigaction sa {};
  sa.sa_handler = OnChildSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  LineReader reader(kChildFd);
  std::string line;
  if (!reader.Next(&line)) return kExitHandOver;
  auto handed = ParseHandOver(line);
  line.clear();
  if (!handed.ok()) {
    std::fprintf(stderr, "qbench-worker %s: %s\n", kEngineChildFlag, std::string(handed.status().message()).c_str());
    return kExitHandOver;
  }
  ChildJob& c = *handed;
  SetDefaultMemoryBudgetBytes(c.memory_budget_bytes);
  const std::string& id = c.job.lease.worker_id;

  // The parent's requests; EOF means the parent is gone: stop and write nothing more.
  JobFlags flags;
  std::thread([&flags, &reader] {
    std::string l;
    while (reader.Next(&l)) {
      if (l == "cancel") flags.cancel_requested.store(true);
      if (l == "stop") flags.stop.store(true);
      if (l == "lost") flags.lost.store(true);
    }
    flags.lost.store(true);
    flags.stop.store(true);
  }).detach();

  auto db = RetryStore(c.options.db_retry, id, "connect", [&] { return store::Db::Connect(c.options.db_uri); });
  if (!db.ok()) return kExitBase + static_cast<int>(JobEnd::kAbandoned);
  const WorkerIdentity worker = DescribeWorker(c.options.id);
  AssetCache cache(c.cache_dir, c.options.server, c.options.shared_roots);
  JobLimits here;  // engine_binary empty: no further nesting
  here.wall = c.wall;
  RunnerContext ctx{c.options, worker, cache, g_child_stop, here};
  ctx.on_stage = [](const std::string& config, const std::string& stage) {
    (void)SendAll(kChildFd, json{{"config", config}, {"stage", stage}}.dump() + "\n");
  };
  ctx.on_wall_limit = [](absl::Duration limit) {
    (void)SendAll(kChildFd, json{{"wall_limit_ms", absl::ToInt64Milliseconds(limit)}}.dump() + "\n");
  };
  const JobEnd end = RunJobHere(ctx, **db, c.job, flags);
  return kExitBase + static_cast<int>(end);
}

}  // namespace qbench::worker
