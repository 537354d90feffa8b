#include "server/store/notify.h"

#include "server/store/db_internal.h"
#include "server/store/queue.h"

namespace qbench::store {
namespace {

struct Receiver : pqxx::notification_receiver {
  using pqxx::notification_receiver::notification_receiver;
  void operator()(const std::string& payload, int /*backend_pid*/) override {
    ++received;
    if (payloads.size() < 100000) payloads.push_back(payload);  // bounded if nobody takes them
  }
  int received = 0;
  std::vector<std::string> payloads;
};

}  // namespace

struct QueueListener::Impl {
  Impl(const std::string& uri, const std::string& channel) : conn(uri), receiver(conn, channel) {}
  pqxx::connection conn;
  Receiver receiver;
};

QueueListener::QueueListener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
QueueListener::~QueueListener() = default;

absl::StatusOr<std::unique_ptr<QueueListener>> QueueListener::Create(const std::string& uri,
                                                                     const std::string& channel) {
  try {
    return std::unique_ptr<QueueListener>(new QueueListener(std::make_unique<Impl>(uri, channel)));
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

std::vector<std::string> QueueListener::TakePayloads() {
  std::vector<std::string> out;
  out.swap(impl_->receiver.payloads);
  return out;
}

}  // namespace qbench::store
