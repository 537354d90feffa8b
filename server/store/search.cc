#include "server/store/search.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "server/store/db_internal.h"

namespace qbench::store {
namespace {

// Keys are "i.j.k..." with one index per searched layer: 16 KiB holds thousands of layers.
constexpr size_t kMaxKeyBytes = 16 << 10;

absl::Status CheckRow(const SearchCandidateRow& r) {
  if (r.key.empty() || r.key.size() > kMaxKeyBytes)
    return absl::InvalidArgumentError(absl::StrCat("search candidate: key must have 1 to ", kMaxKeyBytes, " bytes"));
  if (r.batch_size < 1) return absl::InvalidArgumentError("search candidate: batch_size must be at least 1");
  const nlohmann::json c = nlohmann::json::parse(r.candidate_json, nullptr, /*allow_exceptions=*/false);
  if (!c.is_object()) return absl::InvalidArgumentError("search candidate: candidate must be a JSON object");
  return absl::OkStatus();
}

}  // namespace

absl::Status UpsertSearchCandidate(Db& db, const Lease& lease, const SearchCandidateRow& r) {
  if (absl::Status s = CheckRow(r); !s.ok()) return s;
  const std::string assignment =
      nlohmann::json(r.assignment).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return InTransaction(db, "record search candidate", [&](pqxx::work& tx) -> absl::Status {
    auto state = LockLeased(tx, lease);
    if (!state.ok()) return state.status();
    ExecPrepared(
        db, tx, "upsert_search_candidate",
        "INSERT INTO search_candidates(job_id, key, ordinal, attempt, worker, hardware, strategy, assignment, samples, "
        "  top1, drop_points, ci_low_points, ci_high_points, timed, latency_ms, latency_ci_low_ms, latency_ci_high_ms, "
        "  batch_size, model_bytes, energy_j, objective, within_budget, seconds, candidate) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, "
        "  $22, $23, $24::jsonb) "
        "ON CONFLICT (job_id, key) DO UPDATE SET ordinal = EXCLUDED.ordinal, attempt = EXCLUDED.attempt, "
        "  worker = EXCLUDED.worker, hardware = EXCLUDED.hardware, strategy = EXCLUDED.strategy, "
        "  assignment = EXCLUDED.assignment, samples = EXCLUDED.samples, top1 = EXCLUDED.top1, "
        "  drop_points = EXCLUDED.drop_points, ci_low_points = EXCLUDED.ci_low_points, "
        "  ci_high_points = EXCLUDED.ci_high_points, timed = EXCLUDED.timed, latency_ms = EXCLUDED.latency_ms, "
        "  latency_ci_low_ms = EXCLUDED.latency_ci_low_ms, latency_ci_high_ms = EXCLUDED.latency_ci_high_ms, "
        "  batch_size = EXCLUDED.batch_size, model_bytes = EXCLUDED.model_bytes, energy_j = EXCLUDED.energy_j, "
        "  objective = EXCLUDED.objective, within_budget = EXCLUDED.within_budget, seconds = EXCLUDED.seconds, "
        "  candidate = EXCLUDED.candidate, on_front = false, created_at = now()",
        lease.job_id, r.key, r.ordinal, lease.attempt, lease.worker_id, r.hardware, r.strategy, assignment, r.samples,
        r.top1, r.drop_points, r.ci_low_points, r.ci_high_points, r.timed, r.latency_ms, r.latency_ci_low_ms,
        r.latency_ci_high_ms, r.batch_size, r.model_bytes, r.energy_j, r.objective, r.within_budget, r.seconds,
        r.candidate_json);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<SearchCandidateRow>> ListSearchCandidates(Db& db, int64_t job_id) {
  return InTransaction(db, "list search candidates", [&](pqxx::work& tx) -> absl::StatusOr<std::vector<SearchCandidateRow>> {
    std::vector<SearchCandidateRow> out;
    for (const auto& f : tx.exec_params(
             "SELECT key, ordinal, attempt, worker, hardware, strategy, assignment::text, samples, top1, drop_points, "
             "  ci_low_points, ci_high_points, timed, latency_ms, latency_ci_low_ms, latency_ci_high_ms, batch_size, "
             "  model_bytes, energy_j, objective, within_budget, on_front, seconds, candidate::text "
             "FROM search_candidates WHERE job_id = $1 ORDER BY attempt, ordinal, key",
             job_id)) {
      SearchCandidateRow r;
      r.key = f[0].as<std::string>();
      r.ordinal = f[1].as<int>();
      r.attempt = f[2].as<int>();
      r.worker = f[3].as<std::string>();
      r.hardware = f[4].as<std::string>();
      r.strategy = f[5].as<std::string>();
      const nlohmann::json a = nlohmann::json::parse(f[6].as<std::string>(), nullptr, false);
      if (a.is_array())
        for (const auto& x : a)
          if (x.is_string()) r.assignment.push_back(x.get<std::string>());
      r.samples = f[7].as<int64_t>();
      r.top1 = f[8].as<double>();
      r.drop_points = f[9].as<double>();
      r.ci_low_points = f[10].as<double>();
      r.ci_high_points = f[11].as<double>();
      r.timed = f[12].as<bool>();
      r.latency_ms = OptField<double>(f[13]);
      r.latency_ci_low_ms = OptField<double>(f[14]);
      r.latency_ci_high_ms = OptField<double>(f[15]);
      r.batch_size = f[16].as<int>();
      r.model_bytes = f[17].as<int64_t>();
      r.energy_j = f[18].as<double>();
      r.objective = OptField<double>(f[19]);
      r.within_budget = f[20].as<bool>();
      r.on_front = f[21].as<bool>();
      r.seconds = f[22].as<double>();
      r.candidate_json = f[23].as<std::string>();
      out.push_back(std::move(r));
    }
    return out;
  });
}

absl::Status FinishSearch(Db& db, const Lease& lease, const std::string& summary_json,
                          const std::vector<std::string>& front_keys) {
  const std::string keys = nlohmann::json(front_keys).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return InTransaction(db, "finish search", [&](pqxx::work& tx) -> absl::Status {
    auto state = LockLeased(tx, lease);
    if (!state.ok()) return state.status();
    auto r = tx.exec_params(
        "UPDATE jobs SET search = $2::jsonb WHERE id = $1 AND jsonb_typeof($2::jsonb) = 'object' RETURNING id",
        lease.job_id, summary_json);
    if (r.empty()) return absl::InvalidArgumentError("search summary: must be a JSON object");
    tx.exec_params(
        "UPDATE search_candidates SET on_front = key IN (SELECT jsonb_array_elements_text($2::jsonb)) "
        "WHERE job_id = $1",
        lease.job_id, keys);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<std::string>> GetJobSearch(Db& db, int64_t job_id) {
  return InTransaction(db, "get job search", [&](pqxx::work& tx) -> absl::StatusOr<std::optional<std::string>> {
    auto r = tx.exec_params("SELECT search::text FROM jobs WHERE id = $1", job_id);
    if (r.empty()) return absl::NotFoundError(absl::StrCat("job ", job_id, " not found"));
    return OptField<std::string>(r[0][0]);
  });
}

}  // namespace qbench::store
