-- 0004: the latency detail the engine measures (worker/engine/measure/latency.h), so users
-- and dashboards see the spread and the uncertainty of a median, not only p50 and p99.
-- Additive only: new nullable columns (rows written before this stay NULL), a new view,
-- and config_comparison gains columns at its end (as 0003 did).

-- Per row, in ms: more percentiles, the extremes and the mean of the timed queries; the
-- confidence interval of the median and how it was built (latency_method, e.g. which of
-- the iid, batch-median and session intervals, with its coverage); how many sessions
-- (freshly built plans) the samples came from; and the samples themselves in run order
-- (at most 1000, evenly downsampled beyond) for distribution plots.
ALTER TABLE results ADD COLUMN p90_ms double precision;
ALTER TABLE results ADD COLUMN p999_ms double precision;
ALTER TABLE results ADD COLUMN min_ms double precision;
ALTER TABLE results ADD COLUMN max_ms double precision;
ALTER TABLE results ADD COLUMN mean_ms double precision;
ALTER TABLE results ADD COLUMN median_ci_low_ms double precision;
ALTER TABLE results ADD COLUMN median_ci_high_ms double precision;
ALTER TABLE results ADD COLUMN latency_sessions integer CHECK (latency_sessions >= 0);
ALTER TABLE results ADD COLUMN latency_method text;
ALTER TABLE results ADD COLUMN latency_samples_ms double precision[];

-- config_comparison as in 0003, plus the spread and the median's interval, so a table
-- panel can show whether two configurations' medians differ by more than their noise.
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
       r.iterations, r.energy_meter,
       -- appended by 0004
       r.p90_ms, r.p999_ms, r.min_ms, r.max_ms, r.mean_ms, r.median_ci_low_ms, r.median_ci_high_ms,
       r.latency_sessions, r.latency_method
FROM results r
JOIN jobs j ON j.id = r.job_id
JOIN job_configs c ON c.id = r.config_id
LEFT JOIN job_configs bc ON bc.job_id = r.job_id AND bc.is_baseline
LEFT JOIN results b ON b.config_id = bc.id AND b.device = r.device AND b.batch_size = r.batch_size
LEFT JOIN models m ON m.id = j.model_id;

-- One row per kept latency sample: ordinal is its 1-based position in run order (so a
-- time-series panel shows drift and warm-up effects, a histogram the distribution), ms
-- the latency of that one query (one batch). Rows without samples contribute none.
CREATE VIEW latency_samples AS
SELECT j.team_id, r.job_id, c.name AS config, c.is_baseline, r.device, r.batch_size,
       s.ordinal::integer AS ordinal, s.ms
FROM results r
JOIN jobs j ON j.id = r.job_id
JOIN job_configs c ON c.id = r.config_id
CROSS JOIN LATERAL unnest(r.latency_samples_ms) WITH ORDINALITY AS s(ms, ordinal);

-- config_comparison keeps its grant from 0003 (CREATE OR REPLACE keeps privileges).
GRANT SELECT ON latency_samples TO qbench_dashboard;
