// Runs request handlers that block (database round trips) off gRPC's callback threads.
// The callback API runs handlers on a couple of event-engine threads; a handler that
// waits on PostgreSQL there stalls every other call, so at most that many requests
// would be in flight. Handlers hand their work to this pool and finish their reactor
// from it (gRPC allows Finish from any thread).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <grpcpp/support/server_callback.h>

#include "absl/status/status.h"
#include "server/grpc_status.h"

namespace qbench::server {

class BlockingPool {
 public:
  explicit BlockingPool(int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  }
  // Runs what was queued, then joins.
  ~BlockingPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  void Run(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }

 private:
  void Loop() {
    while (true) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and drained
        fn = std::move(queue_.front());
        queue_.pop_front();
      }
      fn();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

// A unary call whose body `fn` (returning absl::Status, having filled the response)
// runs on `pool`, or inline when there is none.
template <typename Fn>
grpc::ServerUnaryReactor* RunUnary(grpc::CallbackServerContext* ctx, BlockingPool* pool, Fn fn) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (pool == nullptr) {
    reactor->Finish(ToGrpcStatus(fn()));
  } else {
    pool->Run([reactor, fn = std::move(fn)]() mutable { reactor->Finish(ToGrpcStatus(fn())); });
  }
  return reactor;
}

}  // namespace qbench::server
