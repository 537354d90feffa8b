#include "server/store/workers.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "server/store/db_internal.h"

namespace qbench::store {
namespace {

absl::Status Validate(const WorkerInfo& w) {
  if (w.id.empty()) return absl::InvalidArgumentError("worker id must not be empty");
  if (w.host.empty()) return absl::InvalidArgumentError(absl::StrCat("worker \"", w.id, "\": host must not be empty"));
  if (w.cores < 0) return absl::InvalidArgumentError(absl::StrCat("worker \"", w.id, "\": cores must not be negative"));
  std::set<std::string> names;
  for (const Device& d : w.devices) {
    if (d.name.empty() || d.device_class.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("worker \"", w.id, "\": device name and class must not be empty"));
    }
    if (!names.insert(d.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("worker \"", w.id, "\": device \"", d.name, "\" listed twice"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RegisterWorker(Db& db, const WorkerInfo& w) {
  if (absl::Status s = Validate(w); !s.ok()) return s;
  return InTransaction(db, "register worker", [&](pqxx::work& tx) -> absl::Status {
    tx.exec_params(
        "INSERT INTO workers(id, host, cpu_model, isa, cores, onednn_version, energy_meters) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7::text[]) ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, "
        "cpu_model = EXCLUDED.cpu_model, isa = EXCLUDED.isa, cores = EXCLUDED.cores, "
        "onednn_version = EXCLUDED.onednn_version, energy_meters = EXCLUDED.energy_meters, last_heartbeat = now()",
        w.id, w.host, w.cpu_model, w.isa, w.cores, w.onednn_version, PgTextArray(w.energy_meters));
    tx.exec_params("DELETE FROM devices WHERE worker_id = $1", w.id);
    for (const Device& d : w.devices) {
      tx.exec_params("INSERT INTO devices(worker_id, name, class, attributes) VALUES ($1, $2, $3, $4::jsonb)", w.id,
                     d.name, d.device_class, d.attributes_json);
    }
    return absl::OkStatus();
  });
}

absl::Status WorkerHeartbeat(Db& db, const std::string& worker_id) {
  return InTransaction(db, "worker heartbeat", [&](pqxx::work& tx) -> absl::Status {
    auto r = tx.exec_params("UPDATE workers SET last_heartbeat = now() WHERE id = $1 RETURNING id", worker_id);
    if (r.empty()) return absl::NotFoundError(absl::StrCat("worker \"", worker_id, "\" is not registered"));
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<WorkerRecord>> ListWorkers(Db& db, absl::Duration max_age) {
  return InTransaction(db, "list workers", [&](pqxx::work& tx) -> absl::StatusOr<std::vector<WorkerRecord>> {
    const double age_s = absl::ToDoubleSeconds(max_age);
    std::vector<WorkerRecord> workers;
    std::map<std::string, size_t> index;
    for (const auto& row : tx.exec_params(
             "SELECT id, host, cpu_model, isa, cores, onednn_version, "
             "(extract(epoch FROM last_heartbeat) * 1000000)::bigint FROM workers "
             "WHERE last_heartbeat > now() - make_interval(secs => $1::double precision) ORDER BY id",
             age_s)) {
      WorkerRecord rec;
      rec.info.id = row[0].as<std::string>();
      rec.info.host = row[1].as<std::string>();
      rec.info.cpu_model = row[2].as<std::string>();
      rec.info.isa = row[3].as<std::string>();
      rec.info.cores = row[4].as<int>();
      rec.info.onednn_version = row[5].as<std::string>();
      rec.last_heartbeat = absl::FromUnixMicros(row[6].as<int64_t>());
      index[rec.info.id] = workers.size();
      workers.push_back(std::move(rec));
    }
    // Array elements one per row (unnest), so no text[] parsing here.
    for (const auto& row : tx.exec("SELECT w.id, m.meter FROM workers w, unnest(w.energy_meters) "
                                   "WITH ORDINALITY AS m(meter, n) ORDER BY w.id, m.n")) {
      auto it = index.find(row[0].as<std::string>());
      if (it != index.end()) workers[it->second].info.energy_meters.push_back(row[1].as<std::string>());
    }
    for (const auto& row : tx.exec("SELECT worker_id, name, class, attributes::text FROM devices ORDER BY worker_id, name")) {
      auto it = index.find(row[0].as<std::string>());
      if (it != index.end()) {
        workers[it->second].info.devices.push_back(
            {row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<std::string>()});
      }
    }
    return workers;
  });
}

}  // namespace qbench::store
