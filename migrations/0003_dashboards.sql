-- 0003: the views the Grafana dashboards read (deploy/grafana/dashboards). Dashboards query
-- views only, so a schema change rewrites a view here and leaves the dashboards alone.
-- Additive: no old view is dropped; config_comparison gains columns at its end only
-- (CREATE OR REPLACE VIEW keeps the existing columns, names, types and order).
--
-- "model" below is models.name: the shared path a job read, or "blobs/<sha256 hex>" for an
-- upload, so every job on the same file is the same model. "model_label" is its short
-- form for legends: the file name, or "sha256:" and the first 12 hex digits.

-- config_comparison as in 0001, plus: the model, the job's name and finish time, the
-- precision and bit widths the engine resolved (fp32: 32, bf16: 16; NULL when the
-- configuration has no outcome yet), and the timed query count and energy meter behind
-- the row.
CREATE OR REPLACE VIEW config_comparison AS
SELECT j.team_id, r.job_id, c.name AS config, c.is_baseline, r.device, r.batch_size,
       r.top1, r.top1 - b.top1 AS top1_delta,
       r.top5, r.top5 - b.top5 AS top5_delta,
       r.agreement, r.sqnr_db,
       r.model_bytes, r.model_bytes::double precision / NULLIF(b.model_bytes, 0) AS size_ratio,
       r.p50_ms, r.p99_ms, r.p50_ms / NULLIF(b.p50_ms, 0) AS latency_ratio,
       r.throughput, r.energy_j, r.energy_source, r.energy_j / NULLIF(b.energy_j, 0) AS energy_ratio,
       -- appended by 0003
       m.name AS model,
       CASE WHEN m.blob_sha256 IS NOT NULL THEN 'sha256:' || left(encode(m.blob_sha256, 'hex'), 12)
            ELSE regexp_replace(m.path, '^.*/', '') END AS model_label,
       COALESCE(NULLIF(j.display_name, ''), NULLIF(j.spec->>'name', ''), 'jobs/' || j.id) AS job_name,
       j.finished_at,
       c.resolved->>'precision' AS precision,
       CASE c.resolved->>'precision' WHEN 'fp32' THEN 32 WHEN 'bf16' THEN 16
            ELSE (c.resolved->'weights'->>'bits')::integer END AS weight_bits,
       CASE c.resolved->>'precision' WHEN 'fp32' THEN 32 WHEN 'bf16' THEN 16
            ELSE (c.resolved->'activations'->>'bits')::integer END AS activation_bits,
       r.iterations, r.energy_meter
FROM results r
JOIN jobs j ON j.id = r.job_id
JOIN job_configs c ON c.id = r.config_id
LEFT JOIN job_configs bc ON bc.job_id = r.job_id AND bc.is_baseline
LEFT JOIN results b ON b.config_id = bc.id AND b.device = r.device AND b.batch_size = r.batch_size
LEFT JOIN models m ON m.id = j.model_id;

-- The models that have results, for the dashboards' model picker (newest first).
CREATE VIEW model_catalog AS
SELECT team_id, model, min(model_label) AS model_label, count(DISTINCT job_id) AS jobs,
       max(finished_at) AS last_finished_at
FROM config_comparison
WHERE model IS NOT NULL
GROUP BY team_id, model;

-- pareto (0001) compares the configurations of one job; this compares every run of a model
-- (all its jobs) per device and batch size, by the same rule: no other row has top1 at
-- least as high, p50 latency and size at least as low (and energy, when both have it),
-- and one of them strictly better.
CREATE VIEW model_pareto AS
WITH rows AS (
  SELECT j.team_id, m.name AS model,
         CASE WHEN m.blob_sha256 IS NOT NULL THEN 'sha256:' || left(encode(m.blob_sha256, 'hex'), 12)
              ELSE regexp_replace(m.path, '^.*/', '') END AS model_label,
         r.job_id, c.name AS config, r.device, r.batch_size, r.top1, r.p50_ms, r.model_bytes, r.energy_j
  FROM results r JOIN jobs j ON j.id = r.job_id JOIN job_configs c ON c.id = r.config_id
  JOIN models m ON m.id = j.model_id
  WHERE r.top1 IS NOT NULL AND r.p50_ms IS NOT NULL AND r.model_bytes IS NOT NULL
)
SELECT * FROM rows a
WHERE NOT EXISTS (
  SELECT 1 FROM rows o
  WHERE o.team_id = a.team_id AND o.model = a.model AND o.device = a.device AND o.batch_size = a.batch_size
    AND o.top1 >= a.top1 AND o.p50_ms <= a.p50_ms AND o.model_bytes <= a.model_bytes
    AND (a.energy_j IS NULL OR o.energy_j IS NULL OR o.energy_j <= a.energy_j)
    AND (o.top1 > a.top1 OR o.p50_ms < a.p50_ms OR o.model_bytes < a.model_bytes
         OR (a.energy_j IS NOT NULL AND o.energy_j IS NOT NULL AND o.energy_j < a.energy_j)));

-- Per layer of a job's configuration: its bits, whether it was quantized (and why not),
-- its output SQNR in the quantized model, and its sensitivity: the SQNR of the layer and
-- of the model output with this layer alone quantized (NULL unless the job asked for
-- "sensitivity"). SQNR in dB, higher is better.
CREATE VIEW layer_sensitivity AS
SELECT j.team_id, l.job_id, c.name AS config, l.ordinal, l.layer, l.op_type, l.quantized,
       l.weight_bits, l.activation_bits, l.sqnr_db, l.isolated_sqnr_db, l.isolated_output_sqnr_db, l.note,
       m.name AS model
FROM layer_results l
JOIN jobs j ON j.id = l.job_id
JOIN job_configs c ON c.id = l.config_id
LEFT JOIN models m ON m.id = j.model_id;

-- One row per job: who, what, where and how long. queue_s: creation to first claim;
-- run_s: first claim to the end (retries included), in seconds.
CREATE VIEW job_overview AS
SELECT j.id AS job_id, j.team_id, t.name AS team,
       COALESCE(NULLIF(j.display_name, ''), NULLIF(j.spec->>'name', ''), 'jobs/' || j.id) AS job_name,
       m.name AS model,
       CASE WHEN m.blob_sha256 IS NOT NULL THEN 'sha256:' || left(encode(m.blob_sha256, 'hex'), 12)
            ELSE regexp_replace(m.path, '^.*/', '') END AS model_label,
       j.state, j.stage, j.device_class, j.device_name, j.worker, j.attempts, j.max_attempts, j.error,
       j.created_at, j.started_at, j.finished_at, j.updated_at,
       extract(epoch FROM j.started_at - j.created_at)::double precision AS queue_s,
       extract(epoch FROM j.finished_at - j.started_at)::double precision AS run_s,
       (SELECT count(*) FROM job_configs c WHERE c.job_id = j.id) AS configs,
       (SELECT count(*) FROM results r WHERE r.job_id = j.id) AS result_rows
FROM jobs j
JOIN teams t ON t.id = j.team_id
LEFT JOIN models m ON m.id = j.model_id;

-- Jobs per state, every state present (0 when empty) so a panel's bars do not vanish;
-- backing_off: queued jobs waiting out a retry delay (not_before in the future).
CREATE VIEW queue_state AS
SELECT s.state, s.ordinal::integer AS ordinal, count(j.id) AS jobs,
       count(j.id) FILTER (WHERE j.not_before > now()) AS backing_off,
       min(j.created_at) AS oldest_created_at,
       extract(epoch FROM now() - min(j.created_at))::double precision AS oldest_age_s
FROM unnest(ARRAY['queued', 'running', 'cancelling', 'succeeded', 'failed', 'cancelled'])
       WITH ORDINALITY AS s(state, ordinal)
LEFT JOIN jobs j ON j.state = s.state
GROUP BY s.state, s.ordinal;

-- Jobs that reached a terminal state, per hour (UTC hour start), with their mean run time.
CREATE VIEW job_throughput AS
SELECT date_trunc('hour', finished_at) AS hour,
       count(*) AS finished,
       count(*) FILTER (WHERE state = 'succeeded') AS succeeded,
       count(*) FILTER (WHERE state = 'failed') AS failed,
       count(*) FILTER (WHERE state = 'cancelled') AS cancelled,
       avg(extract(epoch FROM finished_at - started_at))::double precision AS mean_run_s
FROM jobs
WHERE finished_at IS NOT NULL
GROUP BY 1;

-- Workers as the dashboards see them. A worker heart-beats between jobs (workers.
-- last_heartbeat) and renews its lease while it runs one (jobs.updated_at), so it was last
-- seen at the later of the two; it is online while it holds an unexpired lease or was
-- seen within the last two minutes (idle workers poll every few seconds).
CREATE VIEW worker_status AS
WITH leases AS (
  SELECT worker, count(*) AS running_jobs, max(updated_at) AS last_renewal, bool_or(lease_until > now()) AS leased
  FROM jobs WHERE state IN ('running', 'cancelling') AND worker IS NOT NULL GROUP BY worker
), done AS (
  SELECT worker, count(*) FILTER (WHERE state = 'succeeded') AS succeeded_jobs,
         count(*) FILTER (WHERE state = 'failed') AS failed_jobs
  FROM jobs WHERE finished_at IS NOT NULL AND worker IS NOT NULL GROUP BY worker
)
SELECT w.id AS worker, w.host, w.cpu_model, w.isa, w.cores, w.onednn_version,
       array_to_string(w.energy_meters, ', ') AS energy_meters,
       (SELECT string_agg(d.name || ' (' || d.class || ')', ', ' ORDER BY d.name) FROM devices d
        WHERE d.worker_id = w.id) AS devices,
       w.registered_at, w.last_heartbeat,
       GREATEST(w.last_heartbeat, l.last_renewal) AS last_seen,
       extract(epoch FROM now() - GREATEST(w.last_heartbeat, l.last_renewal))::double precision AS last_seen_age_s,
       COALESCE(l.leased, false) OR w.last_heartbeat > now() - interval '2 minutes' AS online,
       COALESCE(l.running_jobs, 0) AS running_jobs,
       COALESCE(d.succeeded_jobs, 0) AS succeeded_jobs,
       COALESCE(d.failed_jobs, 0) AS failed_jobs
FROM workers w
LEFT JOIN leases l ON l.worker = w.id
LEFT JOIN done d ON d.worker = w.id;

GRANT SELECT ON config_comparison, pareto, model_catalog, model_pareto, layer_sensitivity, job_overview,
  queue_state, job_throughput, worker_status TO qbench_dashboard;
