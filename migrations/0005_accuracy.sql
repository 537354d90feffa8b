-- 0005: per-configuration results apart from per-batch latency rows, the paired accuracy
-- delta with its interval, and the record of which samples the figures come from
-- (issue 12; issue 17 findings 8 and 10). Additive: new nullable columns (rows written
-- before this stay NULL), a new view, and config_comparison gains columns at its end.
--
-- Accuracy, SQNR and size are properties of a configuration, not of a batch size: they
-- live on job_configs now. results keeps its top1/top5/agreement/sqnr_db/model_bytes
-- columns for rows written before 0005; the views read job_configs first and fall back
-- to them, so old jobs keep their figures.

-- Per configuration, on the test samples (fractions in [0, 1], counts of samples):
-- strict top-k (ties at the top go to the lowest class index) and how many samples had
-- a tied top-1; agreement with FP32's top-1; the model output's SQNR against FP32's (dB,
-- NULL for FP32 itself and for an exact match); the model size in bytes; the worker
-- device the figures were measured on.
ALTER TABLE job_configs ADD COLUMN device text;
ALTER TABLE job_configs ADD COLUMN top1 double precision;
ALTER TABLE job_configs ADD COLUMN top5 double precision;
ALTER TABLE job_configs ADD COLUMN top1_hits bigint CHECK (top1_hits >= 0);
ALTER TABLE job_configs ADD COLUMN top5_hits bigint CHECK (top5_hits >= 0);
ALTER TABLE job_configs ADD COLUMN tied_top1 bigint CHECK (tied_top1 >= 0);
ALTER TABLE job_configs ADD COLUMN agreement double precision;
ALTER TABLE job_configs ADD COLUMN sqnr_db double precision;
ALTER TABLE job_configs ADD COLUMN model_bytes bigint CHECK (model_bytes >= 0);

-- The paired top-1 delta to the baseline on the same samples (NULL for the baseline):
-- top1 minus FP32's top1 (a fraction), its 95% interval and the exact McNemar p-value,
-- with the methods in words, and the discordant samples behind them. The concordant
-- counts follow: both right = top1_hits - fp32_wrong_config_right, both wrong = samples
-- - both right - the two discordant counts.
ALTER TABLE job_configs ADD COLUMN top1_delta double precision;
ALTER TABLE job_configs ADD COLUMN top1_delta_ci_low double precision;
ALTER TABLE job_configs ADD COLUMN top1_delta_ci_high double precision;
ALTER TABLE job_configs ADD COLUMN top1_delta_p double precision CHECK (top1_delta_p >= 0 AND top1_delta_p <= 1);
ALTER TABLE job_configs ADD COLUMN fp32_right_config_wrong bigint CHECK (fp32_right_config_wrong >= 0);
ALTER TABLE job_configs ADD COLUMN fp32_wrong_config_right bigint CHECK (fp32_wrong_config_right >= 0);
ALTER TABLE job_configs ADD COLUMN delta_interval_method text;
ALTER TABLE job_configs ADD COLUMN delta_test_method text;

-- The same on the validation samples (what selections by accuracy use; NULL when the job
-- has no validation split).
ALTER TABLE job_configs ADD COLUMN validation_samples bigint CHECK (validation_samples >= 0);
ALTER TABLE job_configs ADD COLUMN validation_top1 double precision;
ALTER TABLE job_configs ADD COLUMN validation_top1_delta double precision;
ALTER TABLE job_configs ADD COLUMN validation_top1_delta_ci_low double precision;
ALTER TABLE job_configs ADD COLUMN validation_top1_delta_ci_high double precision;

-- Which samples the job's figures come from (the engine's EvaluationSplit): {"mode":
-- "all" | "holdout" | "dataset", "seed", "selection", "test_samples",
-- "validation_samples", "test_indices_sha256", "validation_indices_sha256",
-- "test_indices": [...], "validation_indices": [...], "calibration_is_eval_data",
-- "calibration_test_overlap"}. NULL until the final attempt records it.
ALTER TABLE jobs ADD COLUMN evaluation jsonb;

-- Finding 8: a new attempt deletes its predecessors' rows when it is claimed (store/
-- queue.cc). Rows that earlier attempts left behind before this migration are superseded
-- the same way: a row whose attempt is older than its job's current one.
DELETE FROM results r USING jobs j WHERE r.job_id = j.id AND r.attempt < j.attempts;

-- config_comparison as in 0004 with accuracy, SQNR and size from job_configs (falling
-- back to the row's own figures for rows written before 0005), plus: tied top-1 samples,
-- the paired delta's 95% interval and p-value, the discordant counts, whether the delta
-- is distinguishable from zero (the interval excludes 0; NULL for the baseline), the
-- hits and samples behind top1, and the validation figures.
CREATE OR REPLACE VIEW config_comparison AS
SELECT j.team_id, r.job_id, c.name AS config, c.is_baseline, r.device, r.batch_size,
       COALESCE(c.top1, r.top1) AS top1,
       COALESCE(c.top1_delta, COALESCE(c.top1, r.top1) - COALESCE(bc.top1, b.top1)) AS top1_delta,
       COALESCE(c.top5, r.top5) AS top5, COALESCE(c.top5, r.top5) - COALESCE(bc.top5, b.top5) AS top5_delta,
       COALESCE(c.agreement, r.agreement) AS agreement, COALESCE(c.sqnr_db, r.sqnr_db) AS sqnr_db,
       COALESCE(c.model_bytes, r.model_bytes) AS model_bytes,
       COALESCE(c.model_bytes, r.model_bytes)::double precision
         / NULLIF(COALESCE(bc.model_bytes, b.model_bytes), 0) AS size_ratio,
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
       r.iterations, r.energy_meter,
       -- appended by 0004
       r.p90_ms, r.p999_ms, r.min_ms, r.max_ms, r.mean_ms, r.median_ci_low_ms, r.median_ci_high_ms,
       r.latency_sessions, r.latency_method,
       -- appended by 0005
       c.tied_top1, c.top1_delta_ci_low, c.top1_delta_ci_high, c.top1_delta_p,
       c.fp32_right_config_wrong, c.fp32_wrong_config_right,
       (c.top1_delta_ci_low > 0 OR c.top1_delta_ci_high < 0) AS significant,
       c.top1_hits, c.samples,
       c.validation_samples, c.validation_top1, c.validation_top1_delta,
       c.validation_top1_delta_ci_low, c.validation_top1_delta_ci_high
FROM results r
JOIN jobs j ON j.id = r.job_id
JOIN job_configs c ON c.id = r.config_id
LEFT JOIN job_configs bc ON bc.job_id = r.job_id AND bc.is_baseline
LEFT JOIN results b ON b.config_id = bc.id AND b.device = r.device AND b.batch_size = r.batch_size
LEFT JOIN models m ON m.id = j.model_id;

-- One row per configuration with an outcome, latency or not (a fixed-batch model whose
-- batch is not among the job's batch sizes has no results rows, but its accuracy is
-- here): the accuracy figures, the paired delta against the baseline with its interval,
-- p-value, discordant counts and significance, and what the figures rest on.
CREATE VIEW config_accuracy AS
SELECT j.team_id, c.job_id, c.name AS config, c.is_baseline, c.ordinal, c.device,
       m.name AS model,
       COALESCE(NULLIF(j.display_name, ''), NULLIF(j.spec->>'name', ''), 'jobs/' || j.id) AS job_name,
       j.finished_at,
       c.resolved->>'precision' AS precision,
       CASE c.resolved->>'precision' WHEN 'fp32' THEN 32 WHEN 'bf16' THEN 16
            ELSE (c.resolved->'weights'->>'bits')::integer END AS weight_bits,
       CASE c.resolved->>'precision' WHEN 'fp32' THEN 32 WHEN 'bf16' THEN 16
            ELSE (c.resolved->'activations'->>'bits')::integer END AS activation_bits,
       c.samples, c.top1, c.top5, c.top1_hits, c.top5_hits, c.tied_top1, c.agreement, c.sqnr_db, c.model_bytes,
       CASE WHEN c.is_baseline THEN 0 ELSE c.top1_delta END AS top1_delta,
       c.top1_delta_ci_low, c.top1_delta_ci_high, c.top1_delta_p,
       c.fp32_right_config_wrong, c.fp32_wrong_config_right,
       (c.top1_delta_ci_low > 0 OR c.top1_delta_ci_high < 0) AS significant,
       c.delta_interval_method, c.delta_test_method,
       c.validation_samples, c.validation_top1, c.validation_top1_delta,
       c.validation_top1_delta_ci_low, c.validation_top1_delta_ci_high,
       j.evaluation->>'mode' AS evaluation_mode
FROM job_configs c
JOIN jobs j ON j.id = c.job_id
LEFT JOIN models m ON m.id = j.model_id
WHERE c.resolved IS NOT NULL AND c.error IS NULL;

-- pareto (0001) and model_pareto (0003) with top-1 and size from job_configs, as above.
CREATE OR REPLACE VIEW pareto AS
WITH rows AS (
  SELECT j.team_id, COALESCE(j.model_id::text, j.spec->>'model') AS model, r.job_id, c.name AS config,
         r.device, r.batch_size, COALESCE(c.top1, r.top1) AS top1, r.p50_ms,
         COALESCE(c.model_bytes, r.model_bytes) AS model_bytes, r.energy_j
  FROM results r JOIN jobs j ON j.id = r.job_id JOIN job_configs c ON c.id = r.config_id
  WHERE COALESCE(c.top1, r.top1) IS NOT NULL AND r.p50_ms IS NOT NULL
    AND COALESCE(c.model_bytes, r.model_bytes) IS NOT NULL
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
         r.job_id, c.name AS config, r.device, r.batch_size, COALESCE(c.top1, r.top1) AS top1, r.p50_ms,
         COALESCE(c.model_bytes, r.model_bytes) AS model_bytes, r.energy_j
  FROM results r JOIN jobs j ON j.id = r.job_id JOIN job_configs c ON c.id = r.config_id
  JOIN models m ON m.id = j.model_id
  WHERE COALESCE(c.top1, r.top1) IS NOT NULL AND r.p50_ms IS NOT NULL
    AND COALESCE(c.model_bytes, r.model_bytes) IS NOT NULL
)
SELECT * FROM rows a
WHERE NOT EXISTS (
  SELECT 1 FROM rows o
  WHERE o.team_id = a.team_id AND o.model = a.model AND o.device = a.device AND o.batch_size = a.batch_size
    AND o.top1 >= a.top1 AND o.p50_ms <= a.p50_ms AND o.model_bytes <= a.model_bytes
    AND (a.energy_j IS NULL OR o.energy_j IS NULL OR o.energy_j <= a.energy_j)
    AND (o.top1 > a.top1 OR o.p50_ms < a.p50_ms OR o.model_bytes < a.model_bytes
         OR (a.energy_j IS NOT NULL AND o.energy_j IS NOT NULL AND o.energy_j < a.energy_j)));

-- The other views keep their grants (CREATE OR REPLACE keeps privileges).
GRANT SELECT ON config_accuracy TO qbench_dashboard;
