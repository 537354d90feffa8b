-- 0001: the QBench schema. Forward-only: never edit this file once applied (the
-- migrate command refuses a changed checksum); add 0002_*.sql instead.
-- Applied by server/store/migrate.cc inside one transaction holding an advisory lock.

-- Teams and their API tokens. Only the SHA-256 of a token is stored.
CREATE TABLE teams (
  id          bigserial PRIMARY KEY,
  name        text NOT NULL UNIQUE CHECK (name <> ''),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tokens (
  id          bigserial PRIMARY KEY,
  team_id     bigint NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  name        text NOT NULL CHECK (name <> ''),
  sha256      bytea NOT NULL UNIQUE CHECK (length(sha256) = 32),
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

-- Content-addressed storage: one row per distinct content (SHA-256 and size).
CREATE TABLE blobs (
  sha256      bytea PRIMARY KEY CHECK (length(sha256) = 32),
  size        bigint NOT NULL CHECK (size >= 0),
  path        text NOT NULL CHECK (path <> ''),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- A model or dataset is either an uploaded blob or a path workers can read (a shared volume).
CREATE TABLE models (
  id           bigserial PRIMARY KEY,
  team_id      bigint NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  name         text NOT NULL CHECK (name <> ''),
  blob_sha256  bytea REFERENCES blobs(sha256),
  path         text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  CHECK (blob_sha256 IS NOT NULL OR path IS NOT NULL)
);
CREATE INDEX models_team ON models(team_id, id);

CREATE TABLE datasets (
  id           bigserial PRIMARY KEY,
  team_id      bigint NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  name         text NOT NULL CHECK (name <> ''),
  blob_sha256  bytea REFERENCES blobs(sha256),   -- the archive
  path         text,
  manifest     jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  CHECK (blob_sha256 IS NOT NULL OR path IS NOT NULL)
);
CREATE INDEX datasets_team ON datasets(team_id, id);

-- Workers register their host and devices; last_heartbeat feeds the devices list.
CREATE TABLE workers (
  id              text PRIMARY KEY CHECK (id <> ''),
  host            text NOT NULL,
  cpu_model       text NOT NULL DEFAULT '',
  isa             text NOT NULL DEFAULT '',
  cores           integer NOT NULL DEFAULT 0 CHECK (cores >= 0),
  onednn_version  text NOT NULL DEFAULT '',
  energy_meters   text[] NOT NULL DEFAULT '{}',
  registered_at   timestamptz NOT NULL DEFAULT now(),
  last_heartbeat  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE devices (
  id          bigserial PRIMARY KEY,
  worker_id   text NOT NULL REFERENCES workers(id) ON DELETE CASCADE,
  name        text NOT NULL CHECK (name <> ''),
  class       text NOT NULL CHECK (class <> ''),      -- e.g. 'cpu', 'cpu-avx512-vnni'
  attributes  jsonb NOT NULL DEFAULT '{}'::jsonb,
  UNIQUE (worker_id, name)
);

-- Jobs and the queue. state/stage are text with CHECKs (readable in dashboards).
-- attempts counts claims (the current run's number, 1-based once claimed); a lease that
-- expires with attempts >= max_attempts fails the job. not_before delays a retry (backoff).
CREATE TABLE jobs (
  id            bigserial PRIMARY KEY,
  team_id       bigint NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  request_id    text CHECK (request_id <> ''),
  display_name  text NOT NULL DEFAULT '',
  spec          jsonb NOT NULL,
  samples       bigint NOT NULL DEFAULT 0 CHECK (samples >= 0),   -- evaluation samples, 0: all
  model_id      bigint REFERENCES models(id),
  dataset_id    bigint REFERENCES datasets(id),                   -- evaluation data
  calibration_dataset_id bigint REFERENCES datasets(id),
  device_class  text NOT NULL DEFAULT 'cpu' CHECK (device_class <> ''),
  device_name   text CHECK (device_name <> ''),
  state         text NOT NULL DEFAULT 'queued' CHECK (state IN
                  ('queued', 'running', 'succeeded', 'failed', 'cancelling', 'cancelled')),
  stage         text CHECK (stage IN ('calibrating', 'quantizing', 'evaluating', 'benchmarking')),
  attempts      integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts  integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
  lease_until   timestamptz,
  worker        text,
  not_before    timestamptz NOT NULL DEFAULT now(),
  error         text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,   -- first claim
  finished_at   timestamptz,   -- reached succeeded, failed or cancelled
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (team_id, request_id)
);
CREATE INDEX jobs_queued ON jobs(id) WHERE state = 'queued';
CREATE INDEX jobs_leased ON jobs(lease_until) WHERE state IN ('running', 'cancelling');
CREATE INDEX jobs_team ON jobs(team_id, id);

CREATE TABLE job_configs (
  id           bigserial PRIMARY KEY,
  job_id       bigint NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  ordinal      integer NOT NULL,
  name         text NOT NULL CHECK (name <> ''),
  spec         jsonb NOT NULL DEFAULT '{}'::jsonb,
  is_baseline  boolean NOT NULL DEFAULT false,       -- the FP32 reference of its job
  UNIQUE (job_id, name)
);
CREATE UNIQUE INDEX job_configs_one_baseline ON job_configs(job_id) WHERE is_baseline;

-- Append-only history: state changes, progress, errors (kept across retries).
CREATE TABLE job_events (
  id        bigserial PRIMARY KEY,
  job_id    bigint NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  at        timestamptz NOT NULL DEFAULT now(),
  kind      text NOT NULL CHECK (kind IN ('state', 'progress', 'error', 'result')),
  state     text,
  stage     text,
  attempt   integer,
  worker    text,
  message   text NOT NULL DEFAULT ''
);
CREATE INDEX job_events_job ON job_events(job_id, id);

-- One row per (job, configuration, device, batch size); a retried job overwrites it.
-- Units: accuracies in [0, 1], sqnr in dB, latencies in ms, throughput in samples/s, energy in J.
CREATE TABLE results (
  id             bigserial PRIMARY KEY,
  job_id         bigint NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  config_id      bigint NOT NULL REFERENCES job_configs(id) ON DELETE CASCADE,
  device         text NOT NULL CHECK (device <> ''),
  batch_size     integer NOT NULL CHECK (batch_size > 0),
  top1           double precision,
  top5           double precision,
  agreement      double precision,
  sqnr_db        double precision,
  model_bytes    bigint CHECK (model_bytes >= 0),
  p50_ms         double precision,
  p99_ms         double precision,
  throughput     double precision,
  energy_j       double precision,
  energy_source  text,
  attempt        integer NOT NULL DEFAULT 0,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (job_id, config_id, device, batch_size)
);

CREATE TABLE layer_results (
  id          bigserial PRIMARY KEY,
  job_id      bigint NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  config_id   bigint NOT NULL REFERENCES job_configs(id) ON DELETE CASCADE,
  layer       text NOT NULL CHECK (layer <> ''),
  op_type     text NOT NULL DEFAULT '',
  sqnr_db     double precision,
  UNIQUE (job_id, config_id, layer)
);

-- Wake idle workers at once when a job becomes claimable (new, or put back after a lease).
CREATE FUNCTION qbench_notify_job() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('qbench_jobs', NEW.id::text);
  RETURN NULL;
END $$;
CREATE TRIGGER jobs_notify_insert AFTER INSERT ON jobs
  FOR EACH ROW WHEN (NEW.state = 'queued') EXECUTE FUNCTION qbench_notify_job();
CREATE TRIGGER jobs_notify_requeue AFTER UPDATE OF state ON jobs
  FOR EACH ROW WHEN (NEW.state = 'queued' AND OLD.state <> 'queued') EXECUTE FUNCTION qbench_notify_job();

-- Dashboards: each configuration against its job's FP32 baseline on the same device and batch size.
CREATE VIEW config_comparison AS
SELECT j.team_id, r.job_id, c.name AS config, c.is_baseline, r.device, r.batch_size,
       r.top1, r.top1 - b.top1 AS top1_delta,
       r.top5, r.top5 - b.top5 AS top5_delta,
       r.agreement, r.sqnr_db,
       r.model_bytes, r.model_bytes::double precision / NULLIF(b.model_bytes, 0) AS size_ratio,
       r.p50_ms, r.p99_ms, r.p50_ms / NULLIF(b.p50_ms, 0) AS latency_ratio,
       r.throughput, r.energy_j, r.energy_source, r.energy_j / NULLIF(b.energy_j, 0) AS energy_ratio
FROM results r
JOIN jobs j ON j.id = r.job_id
JOIN job_configs c ON c.id = r.config_id
LEFT JOIN job_configs bc ON bc.job_id = r.job_id AND bc.is_baseline
LEFT JOIN results b ON b.config_id = bc.id AND b.device = r.device AND b.batch_size = r.batch_size;

-- Per model, device and batch size: configurations no other one beats on accuracy (top1,
-- higher is better), p50 latency and size (lower is better), and energy when both have it.
CREATE VIEW pareto AS
WITH rows AS (
  SELECT j.team_id, COALESCE(j.model_id::text, j.spec->>'model') AS model, r.job_id, c.name AS config,
         r.device, r.batch_size, r.top1, r.p50_ms, r.model_bytes, r.energy_j
  FROM results r JOIN jobs j ON j.id = r.job_id JOIN job_configs c ON c.id = r.config_id
  WHERE r.top1 IS NOT NULL AND r.p50_ms IS NOT NULL AND r.model_bytes IS NOT NULL
)
SELECT * FROM rows a
WHERE NOT EXISTS (
  SELECT 1 FROM rows o
  WHERE o.team_id = a.team_id AND o.model IS NOT DISTINCT FROM a.model
    AND o.device = a.device AND o.batch_size = a.batch_size
    AND o.top1 >= a.top1 AND o.p50_ms <= a.p50_ms AND o.model_bytes <= a.model_bytes
    AND (a.energy_j IS NULL OR o.energy_j IS NULL OR o.energy_j <= a.energy_j)
    AND (o.top1 > a.top1 OR o.p50_ms < a.p50_ms OR o.model_bytes < a.model_bytes
         OR (a.energy_j IS NOT NULL AND o.energy_j IS NOT NULL AND o.energy_j < a.energy_j)));

-- A read-only role for dashboards (roles are cluster-wide, hence the existence check).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'qbench_dashboard') THEN
    CREATE ROLE qbench_dashboard NOLOGIN;
  END IF;
END $$;
GRANT USAGE ON SCHEMA public TO qbench_dashboard;
GRANT SELECT ON config_comparison, pareto TO qbench_dashboard;
