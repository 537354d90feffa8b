#include "server/watch_hub.h"

#include <deque>
#include <set>

#include "server/grpc_status.h"

namespace qbench::server {

// Shared between the hub (which refreshes it) and its reactor (which writes). `reactor`
// becomes null when gRPC is done with the call; the hub then drops the watcher.
struct WatchHub::Watcher {
  std::string team_id;
  int64_t job_id = 0;
  int64_t sequence = 0;  // last event handed to the reactor (hub thread only)
  bool ended = false;    // hub thread only
  std::recursive_mutex mu;
  class Reactor* reactor = nullptr;  // guarded by mu
  bool pending = true;               // hub (under its mu_): refresh on the next pass; a new watcher wants its backlog
};

class Reactor : public grpc::ServerWriteReactor<qbench::v1::JobEvent> {
 public:
  explicit Reactor(std::shared_ptr<WatchHub::Watcher> w) : watcher_(std::move(w)) {}

  // From the hub thread: queue events; `ended` finishes the stream after them.
  void Push(std::vector<qbench::v1::JobEvent> events, bool ended) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    for (auto& e : events) queue_.push_back(std::move(e));
    end_after_ = end_after_ || ended;
    Pump();
  }
  void Fail(const absl::Status& s) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (finished_) return;
    finished_ = true;
    Finish(ToGrpcStatus(s));
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    writing_ = false;
    if (!ok) {
      if (!finished_) {
        finished_ = true;
        Finish({grpc::StatusCode::CANCELLED, "watch: the client went away"});
      }
      return;
    }
    Pump();
  }
  void OnCancel() override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (!finished_ && !writing_) {
      finished_ = true;
      Finish({grpc::StatusCode::CANCELLED, "watch: cancelled"});
    }
  }
  void OnDone() override {
    {
      std::lock_guard<std::recursive_mutex> lock(watcher_->mu);
      watcher_->reactor = nullptr;
    }
    delete this;
  }

 private:
  void Pump() {  // mu_ held
    if (writing_ || finished_) return;
    if (!queue_.empty()) {
      current_ = std::move(queue_.front());
      queue_.pop_front();
      writing_ = true;
      StartWrite(&current_);
    } else if (end_after_) {
      finished_ = true;
      Finish(grpc::Status::OK);
    }
  }

  std::shared_ptr<WatchHub::Watcher> watcher_;
  std::recursive_mutex mu_;
  std::deque<qbench::v1::JobEvent> queue_;
  qbench::v1::JobEvent current_;
  bool writing_ = false, end_after_ = false, finished_ = false;
};

WatchHub::WatchHub(JobRepository* repository, absl::Duration poll) : repository_(repository), poll_(poll) {
  thread_ = std::thread([this] { Loop(); });
  listener_ = std::thread([this] {
    while (!stop_) {
      auto jobs = repository_->WaitForEvents(absl::Milliseconds(500));
      if (!jobs.ok()) {  // the database is away: the poll interval covers it
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        continue;
      }
      if (jobs->empty()) continue;
      const std::set<int64_t> ids(jobs->begin(), jobs->end());
      std::lock_guard<std::mutex> lock(mu_);
      bool any = false;
      for (auto& w : watchers_)
        if (ids.count(w->job_id)) any = w->pending = true;
      if (any) wake_.notify_one();
    }
  });
}

WatchHub::~WatchHub() {
  stop_ = true;
  wake_.notify_all();
  if (listener_.joinable()) listener_.join();
  if (thread_.joinable()) thread_.join();
}

grpc::ServerWriteReactor<qbench::v1::JobEvent>* WatchHub::Watch(const std::string& team_id, int64_t id,
                                                                 int64_t after_sequence) {
  auto w = std::make_shared<Watcher>();
  w->team_id = team_id;
  w->job_id = id;
  w->sequence = after_sequence;
  auto* reactor = new Reactor(w);
  w->reactor = reactor;
  std::lock_guard<std::mutex> lock(mu_);
  watchers_.push_back(std::move(w));
  wake_.notify_one();
  return reactor;
}

void WatchHub::Refresh(const std::shared_ptr<Watcher>& w) {
  auto page = repository_->ListEvents(w->team_id, w->job_id, w->sequence);
  std::lock_guard<std::recursive_mutex> lock(w->mu);
  if (w->reactor == nullptr) return;
  if (!page.ok()) {
    // A database outage is not the watcher's fault: keep the stream and try again.
    if (absl::IsUnavailable(page.status()) || absl::IsAborted(page.status())) return;
    w->reactor->Fail(page.status());
    w->ended = true;
    return;
  }
  if (!page->events.empty()) w->sequence = page->events.back().sequence();
  w->ended = page->ended;
  w->reactor->Push(std::move(page->events), page->ended);
}

void WatchHub::Loop() {
  absl::Time last_poll = absl::Now();
  while (!stop_) {
    std::vector<std::shared_ptr<Watcher>> todo;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait_for(lock, std::chrono::milliseconds(100), [&] {
        if (stop_) return true;
        for (auto& w : watchers_)
          if (w->pending) return true;
        return false;
      });
      if (stop_) break;
      const bool poll_all = absl::Now() - last_poll >= poll_;
      if (poll_all) last_poll = absl::Now();
      // Drop watchers whose call is over.
      std::erase_if(watchers_, [](const std::shared_ptr<Watcher>& w) {
        std::lock_guard<std::recursive_mutex> l(w->mu);
        return w->reactor == nullptr || w->ended;
      });
      for (auto& w : watchers_)
        if (w->pending || poll_all) {
          w->pending = false;
          todo.push_back(w);
        }
    }
    for (auto& w : todo) Refresh(w);
  }
  // Shutdown: end the streams still open.
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& w : watchers_) {
    std::lock_guard<std::recursive_mutex> l(w->mu);
    if (w->reactor) w->reactor->Fail(absl::UnavailableError("watch: the server is shutting down"));
  }
}

}  // namespace qbench::server
