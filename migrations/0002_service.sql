-- 0002: what the wired service needs beyond 0001 (admin tokens, blob ownership, per
-- configuration outcomes, progress, exports, the run environment). Additive only.

-- Admin tokens may call the Admin service; teams get a display name.
ALTER TABLE teams ADD COLUMN display_name text NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN admin boolean NOT NULL DEFAULT false;
ALTER TABLE tokens ADD COLUMN expires_at timestamptz;

-- Which teams hold a blob (uploaded it, or proved they have it by its digest): a team
-- may only reference and download its own blobs. Workers download with an admin token.
CREATE TABLE blob_owners (
  team_id     bigint NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  sha256      bytea NOT NULL CHECK (length(sha256) = 32),
  size        bigint NOT NULL CHECK (size >= 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (team_id, sha256)
);

-- Per configuration: how the engine resolved it, why it could not run, its notes and the
-- hashes that make it reproducible.
ALTER TABLE job_configs ADD COLUMN resolved jsonb;
ALTER TABLE job_configs ADD COLUMN error text;
ALTER TABLE job_configs ADD COLUMN notes text[] NOT NULL DEFAULT '{}';
ALTER TABLE job_configs ADD COLUMN samples bigint;
ALTER TABLE job_configs ADD COLUMN params_sha256 text;
ALTER TABLE job_configs ADD COLUMN calibration_sha256 text;
ALTER TABLE job_configs ADD COLUMN attempt integer;   -- the attempt that wrote the outcome

-- Per row: how many timed queries the latency figures rest on, and the energy meter.
ALTER TABLE results ADD COLUMN iterations bigint;
ALTER TABLE results ADD COLUMN energy_meter text;

-- The per-layer table in full: bits, whether quantized and why not, and sensitivity.
ALTER TABLE layer_results ADD COLUMN ordinal integer NOT NULL DEFAULT 0;
ALTER TABLE layer_results ADD COLUMN quantized boolean NOT NULL DEFAULT false;
ALTER TABLE layer_results ADD COLUMN weight_bits integer;
ALTER TABLE layer_results ADD COLUMN activation_bits integer;
ALTER TABLE layer_results ADD COLUMN isolated_sqnr_db double precision;
ALTER TABLE layer_results ADD COLUMN isolated_output_sqnr_db double precision;
ALTER TABLE layer_results ADD COLUMN note text NOT NULL DEFAULT '';

-- Progress events name the configuration and count work units in the stage.
ALTER TABLE job_events ADD COLUMN config text;
ALTER TABLE job_events ADD COLUMN done bigint;
ALTER TABLE job_events ADD COLUMN total bigint;

-- Watchers wake when a job gets an event (payload: the job id).
CREATE FUNCTION qbench_notify_job_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('qbench_job_events', NEW.job_id::text);
  RETURN NULL;
END $$;
CREATE TRIGGER job_events_notify AFTER INSERT ON job_events
  FOR EACH ROW EXECUTE FUNCTION qbench_notify_job_event();

-- QDQ ONNX exports of integer configurations, uploaded by the worker as blobs.
CREATE TABLE exports (
  job_id      bigint NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  config_id   bigint NOT NULL REFERENCES job_configs(id) ON DELETE CASCADE,
  sha256      bytea NOT NULL CHECK (length(sha256) = 32),
  size        bigint NOT NULL CHECK (size > 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job_id, config_id)
);

-- What a run needs to be reproduced: versions, hardware, threads, affinity, governor.
ALTER TABLE jobs ADD COLUMN environment jsonb;
ALTER TABLE workers ADD COLUMN attributes jsonb NOT NULL DEFAULT '{}'::jsonb;

