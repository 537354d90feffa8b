// A fixed-size pool of Db connections for multi-threaded callers (the gRPC server): a Db
// is one connection and not thread-safe, so each call borrows one for its duration.
#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/store/db.h"

namespace qbench::store {

class DbPool {
 public:
  // Opens one connection at once (UNAVAILABLE if the server cannot be reached); the
  // others open on demand, up to `max_size` (>= 1).
  static absl::StatusOr<std::unique_ptr<DbPool>> Create(const std::string& uri, int max_size);

  // A borrowed connection, returned to the pool by the destructor.
  class Handle {
   public:
    Handle(DbPool* pool, std::unique_ptr<Db> db) : pool_(pool), db_(std::move(db)) {}
    Handle(Handle&&) = default;
    ~Handle();
    Db& operator*() { return *db_; }
    Db* operator->() { return db_.get(); }

   private:
    DbPool* pool_;
    std::unique_ptr<Db> db_;
  };

  // Blocks while all max_size connections are borrowed. UNAVAILABLE when a new
  // connection cannot be opened.
  absl::StatusOr<Handle> Acquire();

  // Runs fn(Db&) on a borrowed connection: Run(&CreateTeam, name) or a lambda. The pool
  // serves a server's clients, so a database error (IsDatabaseError) comes back with its
  // code and our words only (WithoutDatabaseText); the database's own text goes to the
  // process's log (stderr) instead.
  template <typename Fn, typename... Args>
  auto Run(Fn&& fn, Args&&... args) -> decltype(fn(std::declval<Db&>(), std::forward<Args>(args)...)) {
    using R = decltype(fn(std::declval<Db&>(), std::forward<Args>(args)...));
    absl::StatusOr<Handle> h = Acquire();
    if (!h.ok()) return R(ForClients(h.status()));
    R r = fn(**h, std::forward<Args>(args)...);
    if constexpr (std::is_same_v<R, absl::Status>) {
      return ForClients(r);
    } else {
      if (!r.ok()) return R(ForClients(r.status()));
      return r;
    }
  }

  // WithoutDatabaseText(s), logging the database's text when it drops it.
  static absl::Status ForClients(const absl::Status& s);

 private:
  DbPool(std::string uri, int max_size) : uri_(std::move(uri)), max_size_(max_size) {}
  void Release(std::unique_ptr<Db> db);

  const std::string uri_;
  const int max_size_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Db>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // idle + borrowed
};

}  // namespace qbench::store
