#include "server/store/queue.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "server/store/db_internal.h"

namespace qbench::store {

// Declared in db_internal.h (results.cc uses it too).
absl::StatusOr<std::string> LockLeased(pqxx::work& tx, const Lease& lease) {
  auto r = tx.exec_params(
      "SELECT state FROM jobs WHERE id = $1 AND worker = $2 AND attempts = $3 "
      "AND state IN ('running', 'cancelling') FOR UPDATE",
      lease.job_id, lease.worker_id, lease.attempt);
  if (r.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", lease.job_id, ": lease of worker \"", lease.worker_id, "\" (attempt ", lease.attempt,
                     ") was lost"));
  }
  return r[0][0].as<std::string>();
}

namespace {

// Moves a leased job to a final state with an event.
absl::Status Finish(Db& db, const char* what, const Lease& lease, const std::string& from_running,
                    const std::string& from_cancelling, const std::optional<std::string>& error) {
  return InTransaction(db, what, [&](pqxx::work& tx) -> absl::Status {
    auto state = LockLeased(tx, lease);
    if (!state.ok()) return state.status();
    const std::string next = *state == "cancelling" ? from_cancelling : from_running;
    tx.exec_params("UPDATE jobs SET state = $2, lease_until = NULL, error = $3, finished_at = now(), updated_at = now() "
                   "WHERE id = $1",
                   lease.job_id, next, error);
    if (error) InsertEvent(tx, lease.job_id, EventKind::kError, std::nullopt, std::nullopt, lease.attempt, lease.worker_id, *error);
    InsertEvent(tx, lease.job_id, EventKind::kState, next, std::nullopt, lease.attempt, lease.worker_id, what);
    return absl::OkStatus();
  });
}

// Finding 8 (issue 17): a new attempt runs every configuration again, so nothing an
// earlier attempt wrote may stay visible beside it. Called in the transaction that
// claims the attempt, before it can write anything: every result row, layer row, export,
// per-configuration outcome and device outcome of the job is an earlier attempt's, and so are its
// environment, evaluation record and search summary. The events (the history) are kept,
// and so are the search candidates (0008): the new attempt resumes from them.
void ClearEarlierAttempts(pqxx::work& tx, int64_t job_id) {
  tx.exec_params("DELETE FROM results WHERE job_id = $1", job_id);
  tx.exec_params("DELETE FROM layer_results WHERE job_id = $1", job_id);
  tx.exec_params("DELETE FROM exports WHERE job_id = $1", job_id);
  tx.exec_params("DELETE FROM device_outcomes WHERE job_id = $1", job_id);
  tx.exec_params(
      "UPDATE job_configs SET resolved = NULL, error = NULL, notes = '{}', samples = NULL, params_sha256 = NULL, "
      "  calibration_sha256 = NULL, attempt = NULL, device = NULL, top1 = NULL, top5 = NULL, top1_hits = NULL, "
      "  top5_hits = NULL, tied_top1 = NULL, agreement = NULL, sqnr_db = NULL, model_bytes = NULL, "
      "  top1_delta = NULL, top1_delta_ci_low = NULL, top1_delta_ci_high = NULL, top1_delta_p = NULL, "
      "  fp32_right_config_wrong = NULL, fp32_wrong_config_right = NULL, delta_interval_method = NULL, "
      "  delta_test_method = NULL, validation_samples = NULL, validation_top1 = NULL, validation_top1_delta = NULL, "
      "  validation_top1_delta_ci_low = NULL, validation_top1_delta_ci_high = NULL "
      "WHERE job_id = $1",
      job_id);
  tx.exec_params("UPDATE jobs SET environment = NULL, evaluation = NULL, search = NULL WHERE id = $1", job_id);
}

}  // namespace

absl::StatusOr<std::optional<ClaimedJob>> ClaimJob(Db& db, const std::string& worker_id,
                                                  const std::vector<std::string>& device_classes,
                                                  const std::vector<std::string>& device_names, absl::Duration lease,
                                                  const std::vector<std::string>& attached) {
  if (worker_id.empty()) return absl::InvalidArgumentError("worker id must not be empty");
  if (lease <= absl::ZeroDuration()) return absl::InvalidArgumentError("lease must be positive");
  if (device_classes.empty() && device_names.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("worker \"", worker_id, "\" offers no devices"));
  }
  return InTransaction(db, "claim job", [&](pqxx::work& tx) -> absl::StatusOr<std::optional<ClaimedJob>> {
    // SKIP LOCKED: concurrent claimers pass over rows another transaction is claiming.
    auto r = tx.exec_params(
        "UPDATE jobs SET state = 'running', worker = $1, attempts = attempts + 1, stage = NULL, error = NULL, "
        "lease_until = now() + make_interval(secs => $4::double precision), started_at = COALESCE(started_at, now()), "
        "updated_at = now() "
        "WHERE id = (SELECT id FROM jobs WHERE state = 'queued' AND not_before <= now() "
        "  AND ((device_name IS NULL AND device_class = ANY($2::text[])) OR device_name = ANY($3::text[])) "
        "  AND devices <@ $5::text[] "
        "  ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1) "
        "RETURNING id, team_id, spec::text, device_class, device_name, attempts, max_attempts",
        worker_id, PgTextArray(device_classes), PgTextArray(device_names), absl::ToDoubleSeconds(lease),
        PgTextArray(attached));
    if (r.empty()) return std::optional<ClaimedJob>();
    ClaimedJob job;
    job.lease.job_id = r[0][0].as<int64_t>();
    job.lease.worker_id = worker_id;
    job.lease.attempt = r[0][5].as<int>();
    job.team_id = r[0][1].as<int64_t>();
    job.spec_json = r[0][2].as<std::string>();
    job.device_class = r[0][3].as<std::string>();
    job.device_name = OptField<std::string>(r[0][4]);
    job.max_attempts = r[0][6].as<int>();
    if (job.lease.attempt > 1) ClearEarlierAttempts(tx, job.lease.job_id);
    for (const auto& row : tx.exec_params(
             "SELECT name, spec::text, is_baseline FROM job_configs WHERE job_id = $1 ORDER BY ordinal", job.lease.job_id)) {
      job.configs.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>() == "t"});
    }
    InsertEvent(tx, job.lease.job_id, EventKind::kState, std::string("running"), std::nullopt, job.lease.attempt,
                worker_id, "claimed");
    return std::optional<ClaimedJob>(std::move(job));
  });
}

absl::StatusOr<LeaseStatus> RenewLease(Db& db, const Lease& lease, absl::Duration duration,
                                       const std::optional<std::string>& stage) {
  if (duration <= absl::ZeroDuration()) return absl::InvalidArgumentError("lease must be positive");
  return InTransaction(db, "renew lease", [&](pqxx::work& tx) -> absl::StatusOr<LeaseStatus> {
    auto state = LockLeased(tx, lease);
    if (!state.ok()) return state.status();
    auto r = tx.exec_params(
        "UPDATE jobs j SET lease_until = now() + make_interval(secs => $2::double precision), "
        "stage = COALESCE($3, j.stage), updated_at = now() FROM jobs old WHERE j.id = $1 AND old.id = j.id "
        "RETURNING old.stage IS DISTINCT FROM j.stage",
        lease.job_id, absl::ToDoubleSeconds(duration), stage);
    if (stage && r[0][0].as<std::string>() == "t") {
      InsertEvent(tx, lease.job_id, EventKind::kProgress, std::nullopt, stage, lease.attempt, lease.worker_id,
                  absl::StrCat("stage ", *stage));
    }
    return LeaseStatus{*state == "cancelling"};
  });
}

absl::Status CompleteJob(Db& db, const Lease& lease) {
  return Finish(db, "complete job", lease, "succeeded", "cancelled", std::nullopt);
}

absl::Status FailJob(Db& db, const Lease& lease, const std::string& reason) {
  if (reason.empty()) return absl::InvalidArgumentError("failure reason must not be empty");
  return Finish(db, "fail job", lease, "failed", "failed", reason);
}

absl::Status FinishCancelled(Db& db, const Lease& lease) {
  return Finish(db, "finish cancelled job", lease, "cancelled", "cancelled", std::nullopt);
}

namespace {

// A leased job whose user asked to cancel it ends cancelled when its attempt stops early
// (the worker shuts down, the engine crashed): the results so far are kept.
void CancelLeasedJob(pqxx::work& tx, const Lease& lease, const std::string& message) {
  tx.exec_params("UPDATE jobs SET state = 'cancelled', lease_until = NULL, finished_at = now(), updated_at = now() "
                 "WHERE id = $1",
                 lease.job_id);
  InsertEvent(tx, lease.job_id, EventKind::kState, std::string("cancelled"), std::nullopt, lease.attempt,
              lease.worker_id, message);
}

}  // namespace

absl::StatusOr<std::string> RetryCrashedAttempt(Db& db, const Lease& lease, const std::string& reason,
                                                absl::Duration retry_after) {
  if (reason.empty()) return absl::InvalidArgumentError("crash reason must not be empty");
  constexpr char kCrashed[] = "engine crashed: ";
  return InTransaction(db, "retry crashed attempt", [&](pqxx::work& tx) -> absl::StatusOr<std::string> {
    auto state = LockLeased(tx, lease);
    if (!state.ok()) return state.status();
    if (*state == "cancelling") {
      CancelLeasedJob(tx, lease, absl::StrCat("cancelled; its engine had crashed: ", reason));
      return std::string("cancelled");
    }
    auto row = tx.exec_params1("SELECT attempts, max_attempts FROM jobs WHERE id = $1", lease.job_id);
    const int attempts = row[0].as<int>(), max_attempts = row[1].as<int>();
    if (attempts < max_attempts) {
      tx.exec_params("UPDATE jobs SET state = 'queued', lease_until = NULL, stage = NULL, updated_at = now(), "
                     "not_before = now() + make_interval(secs => $2::double precision) WHERE id = $1",
                     lease.job_id, absl::ToDoubleSeconds(retry_after));
      InsertEvent(tx, lease.job_id, EventKind::kState, std::string("queued"), std::nullopt, lease.attempt,
                  lease.worker_id, absl::StrCat(kCrashed, reason));
      return std::string("queued");
    }
    // The earlier attempts that crashed their engine left a "queued" event saying so.
    const int64_t earlier_crashes =
        tx.exec_params1("SELECT count(*) FROM job_events WHERE job_id = $1 AND kind = 'state' AND state = 'queued' "
                        "AND starts_with(message, $2)",
                        lease.job_id, std::string(kCrashed))[0]
            .as<int64_t>();
    const std::string error =
        earlier_crashes + 1 >= attempts
            ? absl::StrCat("the engine crashed on every one of the job's ", attempts, " attempts; the last: ", reason)
            : absl::StrCat("the engine crashed on attempt ", attempts, " of ", max_attempts, ": ", reason);
    tx.exec_params("UPDATE jobs SET state = 'failed', lease_until = NULL, stage = NULL, finished_at = now(), "
                   "updated_at = now(), error = $2 WHERE id = $1",
                   lease.job_id, error);
    InsertEvent(tx, lease.job_id, EventKind::kState, std::string("failed"), std::nullopt, lease.attempt,
                lease.worker_id, error);
    return std::string("failed");
  });
}

absl::Status ReleaseJob(Db& db, const Lease& lease) {
  return InTransaction(db, "release job", [&](pqxx::work& tx) -> absl::Status {
    auto state = LockLeased(tx, lease);
    if (!state.ok()) return state.status();
    if (*state == "cancelling") {
      CancelLeasedJob(tx, lease, "cancelled while its worker shut down");
      return absl::OkStatus();
    }
    tx.exec_params("UPDATE jobs SET state = 'queued', lease_until = NULL, stage = NULL, not_before = now(), "
                   "updated_at = now() WHERE id = $1",
                   lease.job_id);
    InsertEvent(tx, lease.job_id, EventKind::kState, std::string("queued"), std::nullopt, lease.attempt,
                lease.worker_id, "released by worker shutdown");
    return absl::OkStatus();
  });
}

absl::StatusOr<ReapReport> ReapExpired(Db& db, const RetryPolicy& policy) {
  return InTransaction(db, "reap expired leases", [&](pqxx::work& tx) -> absl::StatusOr<ReapReport> {
    // Backoff before attempt n+1: min(base * 2^(n-1), max) seconds.
    auto r = tx.exec_params(
        "WITH expired AS ("
        "  SELECT id, state, attempts, max_attempts, worker FROM jobs "
        "  WHERE state IN ('running', 'cancelling') AND lease_until < now() "
        "  ORDER BY id FOR UPDATE SKIP LOCKED LIMIT $3), "
        "next AS ("
        "  SELECT id, attempts, max_attempts, worker, CASE WHEN state = 'cancelling' THEN 'cancelled' "
        "    WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END AS state FROM expired) "
        "UPDATE jobs j SET state = n.state, lease_until = NULL, stage = NULL, updated_at = now(), "
        "  finished_at = CASE WHEN n.state = 'queued' THEN NULL ELSE now() END, "
        "  not_before = CASE WHEN n.state = 'queued' THEN now() + make_interval(secs => "
        "    least($1::double precision * power(2, greatest(n.attempts - 1, 0)), $2::double precision)) "
        "    ELSE j.not_before END, "
        "  error = CASE WHEN n.state = 'failed' THEN format('lease expired on attempt %s of %s (worker %s); gave up', "
        "    n.attempts, n.max_attempts, n.worker) ELSE j.error END "
        "FROM next n WHERE j.id = n.id "
        "RETURNING j.id, n.state, n.attempts, n.max_attempts, n.worker",
        absl::ToDoubleSeconds(policy.backoff_base), absl::ToDoubleSeconds(policy.backoff_max), policy.batch);
    ReapReport report;
    for (const auto& row : r) {
      const int64_t id = row[0].as<int64_t>();
      const std::string state = row[1].as<std::string>();
      const int attempt = row[2].as<int>();
      const std::optional<std::string> worker = OptField<std::string>(row[4]);
      InsertEvent(tx, id, EventKind::kError, std::nullopt, std::nullopt, attempt, worker,
                  absl::StrCat("lease expired on attempt ", attempt, " of ", row[3].as<int>(), " (worker ",
                               worker.value_or("?"), ")"));
      InsertEvent(tx, id, EventKind::kState, state, std::nullopt, attempt, worker, "lease expired");
      (state == "queued" ? report.requeued : state == "failed" ? report.failed : report.cancelled).push_back(id);
    }
    return report;
  });
}

}  // namespace qbench::store
