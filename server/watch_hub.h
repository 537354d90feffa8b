// WatchJob streams: one hub thread serves every watcher. It wakes on the store's job-event
// notifications (and at least every poll interval, since notifications can be lost),
// reads each watched job's new events through the JobRepository, and hands them to the
// watcher's reactor, which writes them one at a time. gRPC callback threads never block
// on the database here, and a slow client only delays its own stream.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/support/server_callback.h>

#include "absl/time/time.h"
#include "qbench/v1/qbench.pb.h"
#include "server/job_repository.h"

namespace qbench::server {

class WatchHub {
 public:
  explicit WatchHub(JobRepository* repository, absl::Duration poll = absl::Seconds(1));
  ~WatchHub();  // stops the thread; call after the gRPC server has shut down

  // A reactor streaming the events of job `id` (already checked to belong to `team_id`)
  // after `after_sequence`, finishing OK once the job has ended and all were sent.
  grpc::ServerWriteReactor<qbench::v1::JobEvent>* Watch(const std::string& team_id, int64_t id,
                                                         int64_t after_sequence);

  struct Watcher;  // watch_hub.cc

 private:
  void Loop();
  void Refresh(const std::shared_ptr<Watcher>& w);

  JobRepository* repository_;
  const absl::Duration poll_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<std::shared_ptr<Watcher>> watchers_;  // guarded by mu_
  std::atomic<bool> stop_{false};
  std::thread listener_;  // turns store notifications into wake-ups
  std::thread thread_;
};

}  // namespace qbench::server
