#include "server/store/pool.h"

#include <cstdio>

namespace qbench::store {

absl::Status DbPool::ForClients(const absl::Status& s) {
  if (!IsDatabaseError(s)) return s;
  std::fprintf(stderr, "qbench-store: database error: %s\n", s.ToString().c_str());
  return WithoutDatabaseText(s);
}

absl::StatusOr<std::unique_ptr<DbPool>> DbPool::Create(const std::string& uri, int max_size) {
  if (max_size < 1) return absl::InvalidArgumentError("connection pool size must be >= 1");
  auto db = Db::Connect(uri);
  if (!db.ok()) return db.status();
  std::unique_ptr<DbPool> pool(new DbPool(uri, max_size));
  absl::MutexLock lock(&pool->mu_);
  pool->idle_.push_back(std::move(*db));
  pool->open_ = 1;
  return pool;
}

DbPool::Handle::~Handle() {
  if (db_) pool_->Release(std::move(db_));
}

absl::StatusOr<DbPool::Handle> DbPool::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !idle_.empty() || open_ < max_size_; };
    mu_.Await(absl::Condition(&available));
    if (!idle_.empty()) {
      std::unique_ptr<Db> db = std::move(idle_.back());
      idle_.pop_back();
      return Handle(this, std::move(db));
    }
    ++open_;  // reserve a slot, connect outside the lock
  }
  auto db = Db::Connect(uri_);
  if (!db.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
    return db.status();
  }
  return Handle(this, std::move(*db));
}

void DbPool::Release(std::unique_ptr<Db> db) {
  absl::MutexLock lock(&mu_);
  idle_.push_back(std::move(db));
}

}  // namespace qbench::store
