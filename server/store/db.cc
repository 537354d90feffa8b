#include "server/store/db.h"

#include <cstring>
#include <exception>
#include <optional>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "server/store/db_internal.h"

namespace qbench::store {
namespace {

// SQLSTATE classes and codes -> canonical codes. Exact codes first, then 2-char classes.
struct SqlStateRule {
  const char* prefix;
  absl::StatusCode code;
};
constexpr SqlStateRule kSqlStateRules[] = {
    {"23505", absl::StatusCode::kAlreadyExists},       // unique_violation
    {"23503", absl::StatusCode::kFailedPrecondition},  // foreign_key_violation
    {"23502", absl::StatusCode::kInvalidArgument},     // not_null_violation
    {"23514", absl::StatusCode::kInvalidArgument},     // check_violation
    {"23P01", absl::StatusCode::kFailedPrecondition},  // exclusion_violation
    {"55P03", absl::StatusCode::kUnavailable},         // lock_not_available
    {"57P0", absl::StatusCode::kUnavailable},          // admin/crash shutdown, cannot connect now
    {"53", absl::StatusCode::kResourceExhausted},      // insufficient resources
    {"08", absl::StatusCode::kUnavailable},            // connection exception
    {"40", absl::StatusCode::kAborted},                // transaction rollback
    {"22", absl::StatusCode::kInvalidArgument},        // data exception (bad json, overflow)
    {"23", absl::StatusCode::kFailedPrecondition},     // other integrity constraints
    {"42", absl::StatusCode::kInternal},               // syntax / undefined: a bug here
};

absl::StatusCode CodeForSqlState(const std::string& state) {
  for (const SqlStateRule& rule : kSqlStateRules) {
    if (state.compare(0, std::strlen(rule.prefix), rule.prefix) == 0) return rule.code;
  }
  return absl::StatusCode::kInternal;
}

// pqxx messages end with a newline; drop it.
std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}


// What a client may be told about a database error of each code.
struct PublicText {
  absl::StatusCode code;
  const char* text;
};
constexpr PublicText kPublicTexts[] = {
    {absl::StatusCode::kUnavailable, "the database is unavailable, retry later"},
    {absl::StatusCode::kAborted, "the transaction conflicted with another one, retry"},
    {absl::StatusCode::kUnknown, "the outcome is unknown (the database connection was lost while committing)"},
    {absl::StatusCode::kAlreadyExists, "the record already exists"},
    {absl::StatusCode::kFailedPrecondition, "a record it refers to does not exist or is in use"},
    {absl::StatusCode::kInvalidArgument, "the database rejected a value"},
    {absl::StatusCode::kResourceExhausted, "the database is out of resources, retry later"},
};

absl::Status Mark(absl::Status s, const char* what) {
  s.SetPayload(kDatabaseErrorPayload, absl::Cord(what));
  return s;
}

absl::Status Translate(const char* what) {
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(absl::StrCat(what, ": database connection lost: ", Trim(e.what())));
  } catch (const pqxx::in_doubt_error& e) {
    return absl::UnknownError(absl::StrCat(what, ": commit outcome unknown: ", Trim(e.what())));
  } catch (const pqxx::statement_completion_unknown& e) {
    return absl::UnknownError(absl::StrCat(what, ": statement outcome unknown: ", Trim(e.what())));
  } catch (const pqxx::transaction_rollback& e) {
    // 6.4: serialization_failure/deadlock_detected are not sql_errors (no sqlstate()).
    return absl::AbortedError(absl::StrCat(what, ": transaction rolled back, retry: ", Trim(e.what())));
  } catch (const pqxx::sql_error& e) {
    return absl::Status(CodeForSqlState(e.sqlstate()),
                        absl::StrCat(what, ": ", Trim(e.what()), " [SQLSTATE ", e.sqlstate(), "]"));
  } catch (const pqxx::conversion_error& e) {
    return absl::InternalError(absl::StrCat(what, ": unexpected column value: ", Trim(e.what())));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what, ": ", Trim(e.what())));
  } catch (...) {
    return absl::InternalError(absl::StrCat(what, ": unknown exception"));
  }
}

}  // namespace

absl::Status TranslateCurrentException(const char* what) { return Mark(Translate(what), what); }

bool IsDatabaseError(const absl::Status& status) {
  return !status.ok() && status.GetPayload(kDatabaseErrorPayload).has_value();
}

absl::Status WithoutDatabaseText(const absl::Status& status) {
  const auto what = status.GetPayload(kDatabaseErrorPayload);  // absl::optional<absl::Cord>
  if (!what) return status;
  const char* text = "internal database error";
  for (const PublicText& p : kPublicTexts)
    if (p.code == status.code()) text = p.text;
  return absl::Status(status.code(), absl::StrCat(std::string(*what), ": ", text));
}

Db::Db(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Db::~Db() = default;

absl::StatusOr<std::unique_ptr<Db>> Db::Connect(const std::string& uri) {
  try {
    return std::unique_ptr<Db>(new Db(std::make_unique<Impl>(uri)));
  } catch (...) {
    return TranslateCurrentException("connect to database");
  }
}

absl::Status Db::Ping() {
  return InTransaction(*this, "ping", [](pqxx::work& tx) -> absl::Status {
    tx.exec1("SELECT 1");
    return absl::OkStatus();
  });
}

}  // namespace qbench::store
