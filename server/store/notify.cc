#include "server/store/notify.h"

#include "server/store/db_internal.h"
#include "server/store/queue.h"

namespace qbench::store {
namespace {

struct Receiver : pqxx::notification_receiver {
  using pqxx::notification_receiver::notification_receiver;
  void operator()(const std::string& /*payload*/, int /*backend_pid*/) override { ++received; }
  int received = 0;
};

}  // namespace

struct QueueListener::Impl {
  explicit Impl(const std::string& uri) : conn(uri), receiver(conn, kQueueChannel) {}
  pqxx::connection conn;
  Receiver receiver;
};

QueueListener::QueueListener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
QueueListener::~QueueListener() = default;

absl::StatusOr<std::unique_ptr<QueueListener>> QueueListener::Create(const std::string& uri) {
  try {
    return std::unique_ptr<QueueListener>(new QueueListener(std::make_unique<Impl>(uri)));
  } catch (...) {
    return TranslateCurrentException("listen for jobs");
  }
}

absl::StatusOr<bool> QueueListener::Wait(absl::Duration timeout) {
  try {
    const int before = impl_->receiver.received;
    if (impl_->conn.get_notifs() > 0) return true;  // already delivered
    const int64_t us = absl::ToInt64Microseconds(std::max(timeout, absl::ZeroDuration()));
    impl_->conn.await_notification(static_cast<long>(us / 1000000), static_cast<long>(us % 1000000));
    return impl_->receiver.received > before;
  } catch (...) {
    return TranslateCurrentException("wait for jobs");
  }
}

}  // namespace qbench::store
