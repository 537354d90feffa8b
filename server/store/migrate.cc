#include "server/store/migrate.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "server/store/crypto.h"
#include "server/store/db_internal.h"

namespace qbench::store {
namespace fs = std::filesystem;

absl::StatusOr<std::vector<MigrationFile>> ReadMigrations(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return absl::NotFoundError(absl::StrCat("migrations directory \"", dir, "\" not found"));
  static const std::regex kName(R"(^(\d{4})_[a-z0-9_]+\.sql$)");
  std::vector<MigrationFile> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".sql") continue;  // READMEs and the like
    std::smatch m;
    if (!std::regex_match(name, m, kName)) {
      return absl::InvalidArgumentError(
          absl::StrCat("migration \"", name, "\": name must be NNNN_lower_case_words.sql"));
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    if (!in) return absl::InternalError(absl::StrCat("migration \"", name, "\": cannot read"));
    MigrationFile f;
    f.version = std::stoi(m[1].str());
    f.name = name;
    f.sql = buf.str();
    f.sha256 = HexEncode(Sha256(f.sql));
    if (f.version < 1) return absl::InvalidArgumentError(absl::StrCat("migration \"", name, "\": version must be >= 1"));
    files.push_back(std::move(f));
  }
  if (ec) return absl::InternalError(absl::StrCat("migrations directory \"", dir, "\": ", ec.message()));
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
  for (size_t i = 1; i < files.size(); ++i) {
    if (files[i].version == files[i - 1].version) {
      return absl::InvalidArgumentError(absl::StrCat("migrations \"", files[i - 1].name, "\" and \"", files[i].name,
                                                     "\" share version ", files[i].version));
    }
  }
  return files;
}

absl::StatusOr<MigrateReport> Migrate(Db& db, const std::string& dir) {
  auto files_or = ReadMigrations(dir);
  if (!files_or.ok()) return files_or.status();
  const std::vector<MigrationFile>& files = *files_or;

  return InTransaction(db, "migrate", [&](pqxx::work& tx) -> absl::StatusOr<MigrateReport> {
    // Serialize concurrent migrators before even looking at schema_migrations.
    tx.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrateLockKey);
    tx.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
    std::map<int, std::pair<std::string, std::string>> recorded;  // version -> (name, sha256)
    for (const auto& row : tx.exec("SELECT version, name, sha256 FROM schema_migrations ORDER BY version")) {
      recorded[row[0].as<int>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
    }
    std::map<int, const MigrationFile*> by_version;
    for (const MigrationFile& f : files) by_version[f.version] = &f;

    MigrateReport report;
    for (const auto& [version, rec] : recorded) {
      auto it = by_version.find(version);
      if (it == by_version.end()) {
        return absl::FailedPreconditionError(absl::StrCat("database has migration ", version, " (\"", rec.first,
                                                          "\") that \"", dir, "\" lacks: the database is newer"));
      }
      if (it->second->sha256 != rec.second) {
        return absl::FailedPreconditionError(absl::StrCat("migration \"", it->second->name,
                                                          "\" changed after it was applied (sha256 ", rec.second,
                                                          " recorded, ", it->second->sha256, " now)"));
      }
      report.current_version = version;
    }
    for (const MigrationFile& f : files) {
      if (recorded.count(f.version)) continue;
      if (f.version < report.current_version) {
        return absl::FailedPreconditionError(absl::StrCat("migration \"", f.name, "\" is numbered below applied version ",
                                                          report.current_version, ": renumber it"));
      }
      tx.exec(f.sql, f.name);  // the whole file: several statements, simple query protocol
      tx.exec_params("INSERT INTO schema_migrations(version, name, sha256) VALUES ($1, $2, $3)", f.version, f.name,
                     f.sha256);
      report.applied.push_back(f.version);
      report.current_version = f.version;
    }
    return report;
  });
}

}  // namespace qbench::store
