#include "server/store/jobs.h"

#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "server/store/crypto.h"
#include "server/store/db_internal.h"

namespace qbench::store {
namespace {

constexpr std::string_view kEventNames[] = {"state", "progress", "error", "result"};

absl::Time FromMicros(const pqxx::field& f) { return absl::FromUnixMicros(f.as<int64_t>()); }

// The filter a page token is bound to: "<state or *>/<hex of display_name or *>".
std::string FilterKey(const ListJobsRequest& req) {
  // absl::StrCat takes no std::string_view here (Debian's Abseil, see DEPENDENCY-NOTES 5).
  return absl::StrCat(req.state ? std::string(JobStateName(*req.state)) : std::string("*"), "/",
                      req.display_name ? HexEncode(*req.display_name) : std::string("*"));
}

// Page tokens are opaque to clients: base64("j1|<filter key>|<last id>").
std::string EncodePageToken(const ListJobsRequest& req, int64_t last_id) {
  const std::string filter = FilterKey(req);
  return absl::WebSafeBase64Escape(absl::StrCat("j1|", filter, "|", last_id));
}

absl::StatusOr<int64_t> DecodePageToken(const ListJobsRequest& req) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(req.page_token, &raw)) return absl::InvalidArgumentError("page_token: malformed");
  std::vector<std::string> parts = absl::StrSplit(raw, '|');
  int64_t last_id = 0;
  if (parts.size() != 3 || parts[0] != "j1" || !absl::SimpleAtoi(parts[2], &last_id)) {
    return absl::InvalidArgumentError("page_token: malformed");
  }
  if (parts[1] != FilterKey(req)) return absl::InvalidArgumentError("page_token: issued for a different state filter");
  return last_id;
}

absl::Status ValidateNewJob(const NewJob& job) {
  if (job.spec_json.empty()) return absl::InvalidArgumentError("job spec must not be empty");
  if (job.configs.empty()) return absl::InvalidArgumentError("job must have at least one configuration");
  if (job.max_attempts < 1) return absl::InvalidArgumentError("max_attempts must be >= 1");
  if (job.samples < 0) return absl::InvalidArgumentError("samples must not be negative");
  if (job.request_id && job.request_id->empty()) return absl::InvalidArgumentError("request_id must not be empty");
  if (job.device_class.empty()) return absl::InvalidArgumentError("device_class must not be empty");
  if (job.device_name && job.device_name->empty()) return absl::InvalidArgumentError("device_name must not be empty");
  std::set<std::string> names;
  int baselines = 0;
  for (const JobConfig& c : job.configs) {
    if (c.name.empty()) return absl::InvalidArgumentError("configuration name must not be empty");
    if (!names.insert(c.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("configuration \"", c.name, "\" appears twice"));
    }
    baselines += c.is_baseline;
  }
  if (baselines > 1) return absl::InvalidArgumentError("at most one configuration may be the baseline");
  return absl::OkStatus();
}

// Records one asset of a new job and returns its models/datasets id. `field` names the
// asset in errors ("model", "eval_dataset", "calibration_dataset").
absl::StatusOr<int64_t> InsertAsset(pqxx::work& tx, int64_t team_id, const AssetRef& a, bool dataset,
                                    const std::string& field) {
  if (!a.blob_sha256 && !a.path) return absl::InvalidArgumentError(absl::StrCat(field, ": neither blob nor path"));
  if (a.blob_sha256) {
    if (a.blob_sha256->size() != 32) return absl::InvalidArgumentError(absl::StrCat(field, ": digest must be 32 bytes"));
    auto own = tx.exec_params("SELECT size FROM blob_owners WHERE team_id = $1 AND sha256 = $2", team_id,
                              Bytes(*a.blob_sha256));
    if (own.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(field, ".blob: blobs/", HexEncode(*a.blob_sha256),
                                                        " has not been uploaded by this team"));
    }
    tx.exec_params("INSERT INTO blobs(sha256, size, path) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING",
                   Bytes(*a.blob_sha256), own[0][0].as<int64_t>(), a.blob_path.empty() ? std::string("?") : a.blob_path);
  }
  const std::string name = a.path ? *a.path : absl::StrCat("blobs/", HexEncode(*a.blob_sha256));
  // A NULL bytea is bound by rewriting the parameter as NULL, not by a null binarystring.
  const pqxx::binarystring blob = Bytes(a.blob_sha256.value_or(""));
  const bool has_blob = a.blob_sha256.has_value();
  pqxx::result r;
  if (dataset) {
    r = tx.exec_params("INSERT INTO datasets(team_id, name, blob_sha256, path, manifest) VALUES ($1, $2, "
                       "CASE WHEN $6 THEN $3::bytea END, $4, jsonb_build_object('archive_manifest', $5::text)) RETURNING id",
                       team_id, name, blob, a.path, a.manifest, has_blob);
  } else {
    r = tx.exec_params("INSERT INTO models(team_id, name, blob_sha256, path) VALUES ($1, $2, CASE WHEN $5 THEN $3::bytea END, $4) "
                       "RETURNING id",
                       team_id, name, blob, a.path, has_blob);
  }
  return r[0][0].as<int64_t>();
}

// Reads a models/datasets row (joined with blobs) back into an AssetRef.
AssetRef ReadAsset(const pqxx::row& row) {
  AssetRef a;
  if (!row[0].is_null()) {
    pqxx::binarystring b(row[0]);
    a.blob_sha256 = b.str();
  }
  a.blob_size = row[1].is_null() ? 0 : row[1].as<int64_t>();
  a.blob_path = row[2].is_null() ? "" : row[2].as<std::string>();
  a.path = OptField<std::string>(row[3]);
  a.manifest = row[4].is_null() ? "" : row[4].as<std::string>();
  return a;
}

}  // namespace

std::string_view EventKindName(EventKind kind) { return kEventNames[static_cast<int>(kind)]; }

const char kJobColumns[] =
    "id, team_id, request_id, spec::text, device_class, device_name, state, stage, attempts, max_attempts, "
    "worker, error, (extract(epoch FROM created_at) * 1000000)::bigint, "
    "(extract(epoch FROM updated_at) * 1000000)::bigint, display_name, samples, model_id, dataset_id, "
    "calibration_dataset_id, (extract(epoch FROM started_at) * 1000000)::bigint, "
    "(extract(epoch FROM finished_at) * 1000000)::bigint";
// The number of columns in kJobColumns (extra selected columns follow it).
constexpr int kJobColumnCount = 21;

Job ReadJob(const pqxx::row& row) {
  Job j;
  j.id = row[0].as<int64_t>();
  j.team_id = row[1].as<int64_t>();
  j.request_id = OptField<std::string>(row[2]);
  j.spec_json = row[3].as<std::string>();
  j.device_class = row[4].as<std::string>();
  j.device_name = OptField<std::string>(row[5]);
  j.state = ParseJobState(row[6].as<std::string>()).value_or(JobState::kFailed);  // CHECK guarantees a name
  j.stage = OptField<std::string>(row[7]);
  j.attempts = row[8].as<int>();
  j.max_attempts = row[9].as<int>();
  j.worker = OptField<std::string>(row[10]);
  j.error = OptField<std::string>(row[11]);
  j.created_at = FromMicros(row[12]);
  j.updated_at = FromMicros(row[13]);
  j.display_name = row[14].as<std::string>();
  j.samples = row[15].as<int64_t>();
  j.model_id = OptField<int64_t>(row[16]);
  j.dataset_id = OptField<int64_t>(row[17]);
  j.calibration_dataset_id = OptField<int64_t>(row[18]);
  if (!row[19].is_null()) j.started_at = FromMicros(row[19]);
  if (!row[20].is_null()) j.finished_at = FromMicros(row[20]);
  return j;
}

void InsertEvent(pqxx::work& tx, int64_t job_id, EventKind kind, const std::optional<std::string>& state,
                 const std::optional<std::string>& stage, std::optional<int> attempt,
                 const std::optional<std::string>& worker, const std::string& message) {
  tx.exec_params(
      "INSERT INTO job_events(job_id, kind, state, stage, attempt, worker, message) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7)",
      job_id, std::string(EventKindName(kind)), state, stage, attempt, worker, message);
}

std::string PgTextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

absl::StatusOr<CreateJobResult> CreateJob(Db& db, const NewJob& job) {
  QB_RETURN_IF_ERROR(ValidateNewJob(job));
  std::vector<std::string> names, specs, baselines;
  for (const JobConfig& c : job.configs) {
    names.push_back(c.name);
    specs.push_back(c.spec_json);
    baselines.push_back(c.is_baseline ? "t" : "f");
  }
  // The job, its configurations and its first event in one statement: one round trip,
  // atomic on its own (submit latency is mostly round trips).
  auto insert = [&](auto& tx) -> absl::StatusOr<CreateJobResult> {
    static const std::string kInsert =
        absl::StrCat("WITH j AS (INSERT INTO jobs(team_id, request_id, spec, device_class, device_name, model_id, "
                     "  dataset_id, max_attempts, display_name, samples, calibration_dataset_id) "
                     "  VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9, $10, $11) "
                     "  ON CONFLICT (team_id, request_id) DO NOTHING RETURNING ", kJobColumns, "), "
                     "c AS (INSERT INTO job_configs(job_id, ordinal, name, spec, is_baseline) "
                     "  SELECT j.id, u.n - 1, u.name, u.spec::jsonb, u.base FROM j, "
                     "  unnest($12::text[], $13::text[], $14::boolean[]) WITH ORDINALITY AS u(name, spec, base, n)), "
                     "e AS (INSERT INTO job_events(job_id, kind, state, message) "
                     "  SELECT j.id, 'state', 'queued', 'created' FROM j) "
                     "SELECT * FROM j");
    auto r = ExecPrepared(db, tx, "create_job", kInsert, job.team_id, job.request_id, job.spec_json, job.device_class, job.device_name, job.model_id, job.dataset_id,
        job.max_attempts, job.display_name, job.samples, job.calibration_dataset_id, PgTextArray(names),
        PgTextArray(specs), PgTextArray(baselines));
    CreateJobResult result;
    if (r.empty()) {  // the request_id was used before: return that job if it is the same request
      static const std::string kPrevious =
          absl::StrCat("SELECT ", kJobColumns, ", spec = $3::jsonb FROM jobs WHERE team_id = $1 AND request_id = $2");
      auto prev = ExecPrepared(db, tx, "create_job_previous", kPrevious, job.team_id, *job.request_id, job.spec_json);
      if (prev.empty()) return absl::AbortedError("create job: request_id conflict vanished, retry");
      if (prev[0][kJobColumnCount].template as<std::string>() != "t") {
        return absl::AlreadyExistsError(
            absl::StrCat("request_id \"", *job.request_id, "\" was already used for job ",
                         prev[0][0].template as<int64_t>(), " with a different spec"));
      }
      result.job = ReadJob(prev[0]);
      return result;
    }
    result.job = ReadJob(r[0]);
    result.created = true;
    return result;
  };
  const bool has_assets = job.assets.model || job.assets.eval_dataset || job.assets.calibration_dataset;
  if (!has_assets) return InAutocommit(db, "create job", insert);
  return InTransaction(db, "create job", [&](pqxx::work& tx) -> absl::StatusOr<CreateJobResult> {
    auto result = insert(tx);
    if (!result.ok() || !result->created) return result;
    const std::pair<const std::optional<AssetRef>*, const char*> assets[] = {
        {&job.assets.model, "model"}, {&job.assets.eval_dataset, "eval_dataset"},
        {&job.assets.calibration_dataset, "calibration_dataset"}};
    std::optional<int64_t> ids[3];
    for (int i = 0; i < 3; ++i) {
      if (!*assets[i].first) continue;
      auto id = InsertAsset(tx, job.team_id, **assets[i].first, i > 0, assets[i].second);
      if (!id.ok()) return id.status();
      ids[i] = *id;
    }
    tx.exec_params("UPDATE jobs SET model_id = COALESCE($2, model_id), dataset_id = COALESCE($3, dataset_id), "
                   "calibration_dataset_id = COALESCE($4, calibration_dataset_id) WHERE id = $1",
                   result->job.id, ids[0], ids[1], ids[2]);
    result->job.model_id = ids[0] ? ids[0] : result->job.model_id;
    result->job.dataset_id = ids[1] ? ids[1] : result->job.dataset_id;
    result->job.calibration_dataset_id = ids[2] ? ids[2] : result->job.calibration_dataset_id;
    return result;
  });
}

absl::StatusOr<Job> GetJob(Db& db, int64_t team_id, int64_t job_id) {
  return InAutocommit(db, "get job", [&](pqxx::nontransaction& tx) -> absl::StatusOr<Job> {
    static const std::string kGet = absl::StrCat("SELECT ", kJobColumns, " FROM jobs WHERE id = $1 AND team_id = $2");
    auto r = ExecPrepared(db, tx, "get_job", kGet, job_id, team_id);
    if (r.empty()) return absl::NotFoundError(absl::StrCat("job ", job_id, " not found"));
    return ReadJob(r[0]);
  });
}

absl::StatusOr<JobAssets> GetJobAssets(Db& db, int64_t job_id) {
  return InTransaction(db, "get job assets", [&](pqxx::work& tx) -> absl::StatusOr<JobAssets> {
    JobAssets out;
    auto m = tx.exec_params(
        "SELECT m.blob_sha256, b.size, b.path, m.path, NULL FROM jobs j JOIN models m ON m.id = j.model_id "
        "LEFT JOIN blobs b ON b.sha256 = m.blob_sha256 WHERE j.id = $1",
        job_id);
    if (!m.empty()) out.model = ReadAsset(m[0]);
    auto d = tx.exec_params(
        "SELECT d.blob_sha256, b.size, b.path, d.path, d.manifest->>'archive_manifest', "
        "  COALESCE(d.id = j.dataset_id, false), COALESCE(d.id = j.calibration_dataset_id, false) "
        "FROM jobs j JOIN datasets d ON d.id IN (j.dataset_id, j.calibration_dataset_id) "
        "LEFT JOIN blobs b ON b.sha256 = d.blob_sha256 WHERE j.id = $1",
        job_id);
    for (const auto& row : d) {
      if (row[5].as<std::string>() == "t") out.eval_dataset = ReadAsset(row);
      if (row[6].as<std::string>() == "t") out.calibration_dataset = ReadAsset(row);
    }
    return out;
  });
}

absl::StatusOr<JobPage> ListJobs(Db& db, const ListJobsRequest& req) {
  if (req.page_size < 0) return absl::InvalidArgumentError("page_size must not be negative");
  const int page_size = req.page_size == 0 ? kDefaultPageSize : std::min(req.page_size, kMaxPageSize);
  std::optional<int64_t> before_id;
  if (!req.page_token.empty()) {
    auto id = DecodePageToken(req);
    if (!id.ok()) return id.status();
    before_id = *id;
  }
  std::optional<std::string> state;
  if (req.state) state = std::string(JobStateName(*req.state));
  return InAutocommit(db, "list jobs", [&](pqxx::nontransaction& tx) -> absl::StatusOr<JobPage> {
    // One row more than the page tells whether another page follows.
    auto r = tx.exec_params(absl::StrCat("SELECT ", kJobColumns,
                                         " FROM jobs WHERE team_id = $1 AND ($2::text IS NULL OR state = $2) "
                                         "AND ($3::bigint IS NULL OR id < $3) AND ($5::text IS NULL OR display_name = $5) "
                                         "ORDER BY id DESC LIMIT $4"),
                            req.team_id, state, before_id, page_size + 1, req.display_name);
    JobPage page;
    for (const auto& row : r) {
      if (static_cast<int>(page.jobs.size()) == page_size) {
        page.next_page_token = EncodePageToken(req, page.jobs.back().id);
        break;
      }
      page.jobs.push_back(ReadJob(row));
    }
    return page;
  });
}

absl::StatusOr<Job> CancelJob(Db& db, int64_t team_id, int64_t job_id) {
  return InTransaction(db, "cancel job", [&](pqxx::work& tx) -> absl::StatusOr<Job> {
    auto cur = tx.exec_params("SELECT state FROM jobs WHERE id = $1 AND team_id = $2 FOR UPDATE", job_id, team_id);
    if (cur.empty()) return absl::NotFoundError(absl::StrCat("job ", job_id, " not found"));
    const std::string state = cur[0][0].as<std::string>();
    if (state == "succeeded" || state == "failed") {
      return absl::FailedPreconditionError(absl::StrCat("job ", job_id, " already ", state));
    }
    if (state == "queued" || state == "running") {
      const std::string next = state == "queued" ? "cancelled" : "cancelling";
      tx.exec_params("UPDATE jobs SET state = $2, lease_until = CASE WHEN $2::text = 'cancelled' THEN NULL ELSE lease_until END, "
                     "finished_at = CASE WHEN $2::text = 'cancelled' THEN now() END, updated_at = now() WHERE id = $1",
                     job_id, next);
      InsertEvent(tx, job_id, EventKind::kState, next, std::nullopt, std::nullopt, std::nullopt, "cancel requested");
    }
    auto r = tx.exec_params(absl::StrCat("SELECT ", kJobColumns, " FROM jobs WHERE id = $1"), job_id);
    return ReadJob(r[0]);
  });
}

absl::StatusOr<std::vector<JobEvent>> ListJobEvents(Db& db, int64_t job_id, int64_t after_id) {
  return InAutocommit(db, "list job events", [&](pqxx::nontransaction& tx) -> absl::StatusOr<std::vector<JobEvent>> {
    auto r = tx.exec_params(
        "SELECT id, job_id, (extract(epoch FROM at) * 1000000)::bigint, kind, state, stage, attempt, worker, message, "
        "  config, done, total "
        "FROM job_events WHERE job_id = $1 AND id > $2 ORDER BY id",
        job_id, after_id);
    std::vector<JobEvent> events;
    for (const auto& row : r) {
      JobEvent e;
      e.id = row[0].as<int64_t>();
      e.job_id = row[1].as<int64_t>();
      e.at = FromMicros(row[2]);
      e.kind = row[3].as<std::string>();
      e.state = OptField<std::string>(row[4]);
      e.stage = OptField<std::string>(row[5]);
      e.attempt = OptField<int>(row[6]);
      e.worker = OptField<std::string>(row[7]);
      e.message = row[8].as<std::string>();
      e.config = OptField<std::string>(row[9]);
      e.done = OptField<int64_t>(row[10]);
      e.total = OptField<int64_t>(row[11]);
      events.push_back(std::move(e));
    }
    return events;
  });
}

}  // namespace qbench::store
