#include "engine/device/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace qbench::device {

const char* const kRunnerEnvironment[] = {"PATH", "HOME", "LANG", "LD_LIBRARY_PATH", "CUDA_VISIBLE_DEVICES",
                                          "NODE_PATH", "TRTEXEC", "QBENCH_RUN", "TMPDIR",
                                          // sanitizer builds of a runner (the tests run qbench-run)
                                          "ASAN_OPTIONS", "UBSAN_OPTIONS", nullptr};

std::string ProcessResult::Describe(double timeout_s) const {
  if (timed_out) return absl::StrCat("ran past its ", timeout_s, " s timeout and was killed");
  if (stopped) return "was stopped: the job is being cancelled";
  if (signal != 0) return absl::StrCat("was killed by signal ", signal, " (", strsignal(signal), ")");
  if (exit_code == 127) return "could not be started (exit status 127: program not found)";
  return absl::StrCat("exited with status ", exit_code);
}

namespace {

using Clock = std::chrono::steady_clock;

// Appends what is readable on `fd`; false at end of file. `keep_tail` keeps the last
// `cap` bytes instead of the first.
bool Drain(int fd, std::string* to, size_t cap, bool keep_tail) {
  char buf[16384];
  const ssize_t n = ::read(fd, buf, sizeof(buf));
  if (n <= 0) return n < 0 && errno == EINTR;
  if (keep_tail) {
    to->append(buf, static_cast<size_t>(n));
    if (to->size() > cap) to->erase(0, to->size() - cap);
  } else if (to->size() < cap) {
    to->append(buf, std::min(static_cast<size_t>(n), cap - to->size()));
  }
  return true;
}

}  // namespace

absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv, const std::string& cwd,
                                         double timeout_s, size_t max_stdout, size_t max_stderr,
                                         const std::function<bool()>& stop) {
  if (argv.empty()) return absl::InvalidArgumentError("no program to run");
  // Everything the child needs is built before fork: after it only async-signal-safe calls.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (const char* const* k = kRunnerEnvironment; *k; ++k)
    if (const char* v = std::getenv(*k)) env_strings.push_back(absl::StrCat(*k, "=", v));
  std::vector<char*> env;
  for (std::string& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return absl::InternalError("runner: pipe failed");
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return absl::InternalError("runner: pipe failed");
  }
  const pid_t parent = ::getpid();
  const auto t0 = Clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) ::close(fd);
    return absl::InternalError("runner: fork failed");
  }
  if (pid == 0) {
    ::setpgid(0, 0);                       // its own group: the timeout kills its children too
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);    // and it dies with the engine process
    if (::getppid() != parent) ::_exit(126);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    // Close every other descriptor (the worker's sockets and files are not the runner's).
    for (int fd = 3; fd < 4096; ++fd) ::close(fd);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execvpe(args[0], args.data(), env.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also from the parent: no race with an early kill
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ProcessResult r;
  bool out_open = true, err_open = true;
  const auto deadline = t0 + std::chrono::duration<double>(timeout_s);
  // Either ends the run early: the deadline passed, or the caller wants it stopped.
  auto must_end = [&] {
    if (Clock::now() >= deadline) r.timed_out = true;
    else if (stop && stop()) r.stopped = true;
    return r.timed_out || r.stopped;
  };
  const int64_t slice_ms = stop ? 100 : 1000;
  while (out_open || err_open) {
    if (must_end()) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd fds[2] = {{out_open ? out_pipe[0] : -1, POLLIN, 0}, {err_open ? err_pipe[0] : -1, POLLIN, 0}};
    const int n = ::poll(fds, 2, static_cast<int>(std::clamp<int64_t>(left, 1, slice_ms)));
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    if (fds[0].revents) out_open = Drain(out_pipe[0], &r.out, max_stdout, false);
    if (fds[1].revents) err_open = Drain(err_pipe[0], &r.err, max_stderr, true);
  }
  // Both pipes closed: the runner (and whatever inherited them) is done. It may still be
  // exiting; wait for it within the deadline.
  int status = 0;
  while (!r.timed_out && !r.stopped) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    if (must_end()) break;
    ::usleep(2000);
  }
  if (r.timed_out || r.stopped) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  } else {
    ::kill(-pid, SIGKILL);  // anything the runner left running in its group
  }
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!r.timed_out && !r.stopped) {
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  }
  return r;
}

}  // namespace qbench::device
