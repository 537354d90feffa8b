// Applies migrations/NNNN_name.sql files in version order (forward-only).
//
// One transaction holds pg_advisory_xact_lock(kMigrateLockKey), so concurrent `migrate`
// runs serialize and a failing file leaves the database as it was. Applied versions are
// recorded in schema_migrations(version, name, sha256, applied_at). Running again is a
// no-op. Refused with FAILED_PRECONDITION: a recorded version missing from the directory
// (the database is newer than this build), a recorded version whose file changed
// (checksum), and a new file numbered below the latest applied version.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/store/db.h"

namespace qbench::store {

inline constexpr int64_t kMigrateLockKey = 0x5142656e63680001;  // "QBench" + 1

struct MigrationFile {
  int version = 0;     // from the 4-digit prefix
  std::string name;    // file name, e.g. "0001_init.sql"
  std::string sql;     // contents
  std::string sha256;  // hex SHA-256 of contents
};

struct MigrateReport {
  std::vector<int> applied;  // versions applied by this run, ascending
  int current_version = 0;   // latest version after the run
};

// Reads and validates *.sql under `dir` (names must match NNNN_[a-z0-9_]+.sql, versions
// unique and >= 1). INVALID_ARGUMENT for a bad name, NOT_FOUND for a missing directory.
absl::StatusOr<std::vector<MigrationFile>> ReadMigrations(const std::string& dir);

// Applies the pending files of `dir` to `db`.
absl::StatusOr<MigrateReport> Migrate(Db& db, const std::string& dir);

}  // namespace qbench::store
