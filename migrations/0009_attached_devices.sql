-- 0009: attached devices (issue 16, docs/devices.md). A job's spec may name devices
-- beside the worker's own oneDNN CPU ("devices": ids or classes); every configuration is
-- then measured on each of them by its runner. Their latency rows go into results under
-- the device's name ("workers/<id>/devices/<device id>"), like the engine's; what is per
-- configuration and device (accuracy, the paired delta, agreement with the engine, the
-- runtime that ran it, or why it failed there) is a row of device_outcomes.

-- Routing: a worker claims a job only when it has every device the spec names, by id or
-- class. Derived from the spec, so it cannot disagree with it; IMMUTABLE because a
-- generated column needs it (it reads nothing but its argument).
CREATE FUNCTION qbench_spec_devices(spec jsonb) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
  SELECT COALESCE(array_agg(d ORDER BY d), '{}')
  FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(spec->'devices') = 'array' THEN spec->'devices'
                                      ELSE '[]'::jsonb END) AS d
$$;
ALTER TABLE jobs ADD COLUMN devices text[] GENERATED ALWAYS AS (qbench_spec_devices(spec)) STORED;

-- One row per (job, configuration, attached device), written before the configuration's
-- outcome (whose "result" event watchers react to). Accuracy on the job's test samples,
-- in [0, 1]; the paired delta is against the same device's own FP32 run (a runtime is
-- compared with itself); differs_from_engine counts the samples whose top-1 differs from
-- the engine's run of the same configuration. error set: the configuration failed on
-- this device (the runner crashed, hung, or wrote something malformed), the figures NULL.
-- A new claim deletes the earlier attempt's rows (store/queue.cc).
CREATE TABLE device_outcomes (
  job_id                  bigint NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  config_id               bigint NOT NULL REFERENCES job_configs(id) ON DELETE CASCADE,
  device                  text NOT NULL CHECK (device <> ''),
  device_class            text NOT NULL DEFAULT '',
  runner                  text NOT NULL DEFAULT '',   -- "ort", "trtexec", "command"
  runtime                 text NOT NULL DEFAULT '',   -- as the runner reported it
  runtime_version         text NOT NULL DEFAULT '',
  provider                text NOT NULL DEFAULT '',   -- e.g. ONNX Runtime's execution provider
  error                   text,
  notes                   text[] NOT NULL DEFAULT '{}',
  samples                 bigint NOT NULL DEFAULT 0 CHECK (samples >= 0),
  top1                    double precision,
  top5                    double precision,
  top1_hits               bigint CHECK (top1_hits >= 0),
  top5_hits               bigint CHECK (top5_hits >= 0),
  tied_top1               bigint CHECK (tied_top1 >= 0),
  agreement               double precision,           -- with this device's FP32 top-1
  sqnr_db                 double precision,           -- outputs against this device's FP32
  top1_delta              double precision,
  top1_delta_ci_low       double precision,
  top1_delta_ci_high      double precision,
  top1_delta_p            double precision CHECK (top1_delta_p >= 0 AND top1_delta_p <= 1),
  fp32_right_config_wrong bigint CHECK (fp32_right_config_wrong >= 0),
  fp32_wrong_config_right bigint CHECK (fp32_wrong_config_right >= 0),
  delta_interval_method   text,
  delta_test_method       text,
  differs_from_engine     bigint CHECK (differs_from_engine >= 0),
  seconds                 double precision,           -- the runner's wall time
  attempt                 integer NOT NULL,
  updated_at              timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job_id, config_id, device)
);

-- For dashboards: each configuration on each attached device beside the engine's run of
-- it: top-1 both ways, the samples whose top-1 differs, and the median latency per batch
-- size on the device and on the engine's CPU with its ratio.
CREATE VIEW device_comparison AS
SELECT j.team_id, d.job_id, m.name AS model, c.name AS config, c.ordinal, c.is_baseline, d.device,
       d.device_class, d.runner, d.runtime, d.runtime_version, d.provider, d.error, d.samples, d.top1,
       c.top1 AS engine_top1, d.differs_from_engine, d.top1_delta, d.top1_delta_ci_low, d.top1_delta_ci_high,
       d.top1_delta_p, r.batch_size, r.p50_ms, r.median_ci_low_ms, r.median_ci_high_ms, r.energy_j,
       r.energy_source, e.p50_ms AS engine_p50_ms, r.p50_ms / NULLIF(e.p50_ms, 0) AS latency_vs_engine,
       d.attempt, d.updated_at
FROM device_outcomes d
JOIN jobs j ON j.id = d.job_id
JOIN job_configs c ON c.id = d.config_id
LEFT JOIN models m ON m.id = j.model_id
LEFT JOIN results r ON r.config_id = d.config_id AND r.device = d.device
LEFT JOIN results e ON e.config_id = d.config_id AND e.device = c.device AND e.batch_size = r.batch_size;

GRANT SELECT ON device_comparison TO qbench_dashboard;

-- The views over results rows (0005) read a configuration's accuracy from job_configs,
-- which holds the engine's figures: on an attached device's rows they would show the
-- engine's top-1 beside the device's latency. Redefined with the device's own figures on
-- its rows (device_outcomes, its deltas against its own FP32 run); the engine's rows are
-- as before. config_comparison gains the device's runtime columns at its end.
CREATE OR REPLACE VIEW config_comparison AS
SELECT j.team_id, r.job_id, c.name AS config, c.is_baseline, r.device, r.batch_size,
       CASE WHEN d.device IS NULL THEN COALESCE(c.top1, r.top1) ELSE d.top1 END AS top1,
       CASE WHEN d.device IS NULL THEN COALESCE(c.top1_delta, COALESCE(c.top1, r.top1) - COALESCE(bc.top1, b.top1))
            WHEN c.is_baseline THEN 0 ELSE COALESCE(d.top1_delta, d.top1 - bd.top1) END AS top1_delta,
       CASE WHEN d.device IS NULL THEN COALESCE(c.top5, r.top5) ELSE d.top5 END AS top5,
       CASE WHEN d.device IS NULL THEN COALESCE(c.top5, r.top5) - COALESCE(bc.top5, b.top5)
            ELSE d.top5 - bd.top5 END AS top5_delta,
       CASE WHEN d.device IS NULL THEN COALESCE(c.agreement, r.agreement) ELSE d.agreement END AS agreement,
       CASE WHEN d.device IS NULL THEN COALESCE(c.sqnr_db, r.sqnr_db) ELSE d.sqnr_db END AS sqnr_db,
       COALESCE(c.model_bytes, r.model_bytes) AS model_bytes,
       COALESCE(c.model_bytes, r.model_bytes)::double precision
         / NULLIF(COALESCE(bc.model_bytes, b.model_bytes), 0) AS size_ratio,
       r.p50_ms, r.p99_ms, r.p50_ms / NULLIF(b.p50_ms, 0) AS latency_ratio,
       r.throughput, r.energy_j, r.energy_source, r.energy_j / NULLIF(b.energy_j, 0) AS energy_ratio,
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
       r.iterations, r.energy_meter,
       r.p90_ms, r.p999_ms, r.min_ms, r.max_ms, r.mean_ms, r.median_ci_low_ms, r.median_ci_high_ms,
       r.latency_sessions, r.latency_method,
       CASE WHEN d.device IS NULL THEN c.tied_top1 ELSE d.tied_top1 END AS tied_top1,
       CASE WHEN d.device IS NULL THEN c.top1_delta_ci_low ELSE d.top1_delta_ci_low END AS top1_delta_ci_low,
       CASE WHEN d.device IS NULL THEN c.top1_delta_ci_high ELSE d.top1_delta_ci_high END AS top1_delta_ci_high,
       CASE WHEN d.device IS NULL THEN c.top1_delta_p ELSE d.top1_delta_p END AS top1_delta_p,
       CASE WHEN d.device IS NULL THEN c.fp32_right_config_wrong ELSE d.fp32_right_config_wrong END
         AS fp32_right_config_wrong,
       CASE WHEN d.device IS NULL THEN c.fp32_wrong_config_right ELSE d.fp32_wrong_config_right END
         AS fp32_wrong_config_right,
       CASE WHEN d.device IS NULL THEN (c.top1_delta_ci_low > 0 OR c.top1_delta_ci_high < 0)
            ELSE (d.top1_delta_ci_low > 0 OR d.top1_delta_ci_high < 0) END AS significant,
       CASE WHEN d.device IS NULL THEN c.top1_hits ELSE d.top1_hits END AS top1_hits,
       CASE WHEN d.device IS NULL THEN c.samples ELSE d.samples END AS samples,
       -- Validation figures are the engine's (selections use them); none on a device.
       CASE WHEN d.device IS NULL THEN c.validation_samples END AS validation_samples,
       CASE WHEN d.device IS NULL THEN c.validation_top1 END AS validation_top1,
       CASE WHEN d.device IS NULL THEN c.validation_top1_delta END AS validation_top1_delta,
       CASE WHEN d.device IS NULL THEN c.validation_top1_delta_ci_low END AS validation_top1_delta_ci_low,
       CASE WHEN d.device IS NULL THEN c.validation_top1_delta_ci_high END AS validation_top1_delta_ci_high,
       -- appended by 0009: what ran it (NULL on the engine's rows)
       d.runner, d.runtime, d.runtime_version, d.provider, d.differs_from_engine
FROM results r
JOIN jobs j ON j.id = r.job_id
JOIN job_configs c ON c.id = r.config_id
LEFT JOIN device_outcomes d ON d.config_id = r.config_id AND d.device = r.device
LEFT JOIN job_configs bc ON bc.job_id = r.job_id AND bc.is_baseline
LEFT JOIN device_outcomes bd ON bd.config_id = bc.id AND bd.device = r.device
LEFT JOIN results b ON b.config_id = bc.id AND b.device = r.device AND b.batch_size = r.batch_size
LEFT JOIN models m ON m.id = j.model_id;

-- pareto and model_pareto as in 0005, top-1 per row as above (fronts are per device).
CREATE OR REPLACE VIEW pareto AS
WITH rows AS (
  SELECT j.team_id, COALESCE(j.model_id::text, j.spec->>'model') AS model, r.job_id, c.name AS config,
         r.device, r.batch_size, CASE WHEN d.device IS NULL THEN COALESCE(c.top1, r.top1) ELSE d.top1 END AS top1,
         r.p50_ms, COALESCE(c.model_bytes, r.model_bytes) AS model_bytes, r.energy_j
  FROM results r JOIN jobs j ON j.id = r.job_id JOIN job_configs c ON c.id = r.config_id
  LEFT JOIN device_outcomes d ON d.config_id = r.config_id AND d.device = r.device
  WHERE CASE WHEN d.device IS NULL THEN COALESCE(c.top1, r.top1) ELSE d.top1 END IS NOT NULL
    AND r.p50_ms IS NOT NULL AND COALESCE(c.model_bytes, r.model_bytes) IS NOT NULL
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

CREATE OR REPLACE VIEW model_pareto AS
WITH rows AS (
  SELECT j.team_id, m.name AS model,
         CASE WHEN m.blob_sha256 IS NOT NULL THEN 'sha256:' || left(encode(m.blob_sha256, 'hex'), 12)
              ELSE regexp_replace(m.path, '^.*/', '') END AS model_label,
         r.job_id, c.name AS config, r.device, r.batch_size,
         CASE WHEN d.device IS NULL THEN COALESCE(c.top1, r.top1) ELSE d.top1 END AS top1, r.p50_ms,
         COALESCE(c.model_bytes, r.model_bytes) AS model_bytes, r.energy_j
  FROM results r JOIN jobs j ON j.id = r.job_id JOIN job_configs c ON c.id = r.config_id
  JOIN models m ON m.id = j.model_id
  LEFT JOIN device_outcomes d ON d.config_id = r.config_id AND d.device = r.device
  WHERE CASE WHEN d.device IS NULL THEN COALESCE(c.top1, r.top1) ELSE d.top1 END IS NOT NULL
    AND r.p50_ms IS NOT NULL AND COALESCE(c.model_bytes, r.model_bytes) IS NOT NULL
)
SELECT * FROM rows a
WHERE NOT EXISTS (
  SELECT 1 FROM rows o
  WHERE o.team_id = a.team_id AND o.model = a.model AND o.device = a.device AND o.batch_size = a.batch_size
    AND o.top1 >= a.top1 AND o.p50_ms <= a.p50_ms AND o.model_bytes <= a.model_bytes
    AND (a.energy_j IS NULL OR o.energy_j IS NULL OR o.energy_j <= a.energy_j)
    AND (o.top1 > a.top1 OR o.p50_ms < a.p50_ms OR o.model_bytes < a.model_bytes
         OR (a.energy_j IS NOT NULL AND o.energy_j IS NOT NULL AND o.energy_j < a.energy_j)));
