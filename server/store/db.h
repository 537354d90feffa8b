// A connection to the QBench PostgreSQL database.
//
// The store is the only code with SQL, and no pqxx type crosses this header: callers see
// absl::Status codes only. A Db is one libpq connection and is NOT thread-safe; give each
// thread (or each request handler pool slot) its own. Every store call runs in its own
// transaction. After a lost connection a call returns UNAVAILABLE and libpqxx reconnects
// on a later call (it may take up to three attempts, see DEPENDENCY-NOTES 2), so callers
// retry UNAVAILABLE with backoff.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace qbench::store {

// A status made from a database error carries the database's own text (its message,
// SQLSTATE, and for a failed connection the host and port) for logs and the worker. It is
// marked with this payload, whose value is the operation ("create job"). A server must
// not pass that text to its clients: see WithoutDatabaseText.
inline constexpr char kDatabaseErrorPayload[] = "type.qbench.dev/store.DatabaseError";

// True for a status made from a database error (TranslateCurrentException).
bool IsDatabaseError(const absl::Status& status);

// The same code with the operation and a description of the code in our words, the
// database's text dropped ("create job: the database is unavailable, retry later");
// any other status is returned as it is.
absl::Status WithoutDatabaseText(const absl::Status& status);

class Db {
 public:
  // uri: a libpq URI or keyword string ("postgresql://user@host:port/db").
  // UNAVAILABLE when the server cannot be reached.
  static absl::StatusOr<std::unique_ptr<Db>> Connect(const std::string& uri);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Round trip "SELECT 1"; UNAVAILABLE when the connection is down.
  absl::Status Ping();

  struct Impl;  // defined in db_internal.h (holds the pqxx connection)
  Impl& impl() { return *impl_; }

 private:
  explicit Db(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace qbench::store
