// Store-internal: the pqxx connection behind a Db, the one transaction helper every store
// call uses, and the translation of pqxx exceptions into absl::Status. Include only from
// server/store/*.cc.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/store/db.h"
#include "server/store/jobs.h"
#include "server/store/queue.h"

namespace qbench::store {

struct Db::Impl {
  explicit Impl(const std::string& uri) : conn(uri) {}
  pqxx::connection conn;
  std::set<std::string> prepared;  // statement names registered with conn
};

// Runs the statement `name` (text `sql`), registering it with this connection on first
// use: the server then parses and plans it once per connection rather than once per
// call, which is most of a short statement's cost. libpqxx re-registers prepared
// statements itself after a reconnect. `name` must always come with the same `sql`.
template <typename Tx, typename... Args>
pqxx::result ExecPrepared(Db& db, Tx& tx, const std::string& name, const std::string& sql, Args&&... args) {
  if (db.impl().prepared.insert(name).second) db.impl().conn.prepare(name, sql);
  return tx.exec_prepared(name, std::forward<Args>(args)...);
}

// Maps the exception being handled (call only inside a catch block) to a canonical code:
//   broken_connection, 08xxx, 57P0x        -> UNAVAILABLE
//   in_doubt_error, statement_completion_unknown -> UNKNOWN (the commit may have happened)
//   transaction_rollback, 40xxx (serialization, deadlock) -> ABORTED (retry the call)
//   23505 unique_violation                 -> ALREADY_EXISTS
//   23503 foreign_key_violation            -> FAILED_PRECONDITION
//   23502/23514 not-null/check, 22xxx data -> INVALID_ARGUMENT
//   anything else                          -> INTERNAL
// `what` names the operation ("create job") and prefixes the message.
absl::Status TranslateCurrentException(const char* what);

// Runs fn(pqxx::work&) in one transaction and commits it. fn returns absl::Status or
// absl::StatusOr<T>; a non-OK result aborts (rolls back) the transaction and is returned
// as is. A pqxx exception is translated with TranslateCurrentException.
template <typename Fn>
auto InTransaction(Db& db, const char* what, Fn&& fn) -> decltype(fn(std::declval<pqxx::work&>())) {
  using R = decltype(fn(std::declval<pqxx::work&>()));
  try {
    pqxx::work tx(db.impl().conn);
    R result = fn(tx);
    if (result.ok()) tx.commit();  // otherwise the work's destructor rolls back
    return result;
  } catch (...) {
    return R(TranslateCurrentException(what));
  }
}

// Runs fn(pqxx::nontransaction&) without BEGIN/COMMIT: for a single statement (atomic on
// its own) or reads that need no snapshot, it saves two round trips. Errors as InTransaction.
template <typename Fn>
auto InAutocommit(Db& db, const char* what, Fn&& fn) -> decltype(fn(std::declval<pqxx::nontransaction&>())) {
  using R = decltype(fn(std::declval<pqxx::nontransaction&>()));
  try {
    pqxx::nontransaction tx(db.impl().conn);
    return fn(tx);
  } catch (...) {
    return R(TranslateCurrentException(what));
  }
}

// Binds raw bytes (a digest) as a bytea parameter.
inline pqxx::binarystring Bytes(const std::string& s) { return pqxx::binarystring(s.data(), s.size()); }

// Reads a nullable column: std::nullopt for NULL.
template <typename T>
std::optional<T> OptField(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<T>();
}

// Binds std::optional as a nullable parameter (libpqxx 6.4 accepts nullptr for NULL).
template <typename T>
const T* NullableParam(const std::optional<T>& v) {
  return v ? &*v : nullptr;
}

// Shared by jobs.cc and queue.cc (defined in jobs.cc).
// The select list that ReadJob expects, for "SELECT <kJobColumns> FROM jobs ...".
extern const char kJobColumns[];
Job ReadJob(const pqxx::row& row);
// Appends one row to job_events.
void InsertEvent(pqxx::work& tx, int64_t job_id, EventKind kind, const std::optional<std::string>& state,
                 const std::optional<std::string>& stage, std::optional<int> attempt,
                 const std::optional<std::string>& worker, const std::string& message);

// Locks a job row while `lease` holds it (running or cancelling, same worker and attempt)
// and returns its state; FAILED_PRECONDITION once the lease was lost.
absl::StatusOr<std::string> LockLeased(pqxx::work& tx, const Lease& lease);

// A PostgreSQL array literal ('{"a","b"}') for binding a text[] parameter as $n::text[];
// the value is still a bound parameter, never part of the SQL text.
std::string PgTextArray(const std::vector<std::string>& items);

}  // namespace qbench::store
