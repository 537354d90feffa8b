-- 0008: mixed-precision search (issue 14). Every candidate a search measures is kept, one
-- row per (job, assignment key), written by the worker as soon as it is measured: its
-- per-layer assignment, accuracy on the validation samples with the paired interval of
-- its delta to FP32, quick latency at the search's batch size, bytes and modeled energy.
-- A later attempt of the same job (the worker died) reads these rows back and does not
-- measure them again, so unlike results they survive a new claim; only rows measured on
-- the same hardware are reused (hardware: the CPU model, ISA and thread count).
CREATE TABLE search_candidates (
  job_id           bigint NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  key              text NOT NULL,        -- "2.2.0.3": the choice index of every layer
  ordinal          integer NOT NULL,     -- evaluation order within the attempt that measured it
  attempt          integer NOT NULL,
  worker           text NOT NULL,
  hardware         text NOT NULL,
  strategy         text NOT NULL,        -- "uniform", "signal", "fallback", "eagl", "sensitivity", "alps"
  assignment       jsonb NOT NULL,       -- the choice names, one per searched layer, in layer order
  samples          bigint NOT NULL,
  top1             double precision NOT NULL,
  drop_points      double precision NOT NULL,  -- FP32's top-1 minus this one's, points
  ci_low_points    double precision NOT NULL,  -- 95% paired interval of (this - FP32), points
  ci_high_points   double precision NOT NULL,
  timed            boolean NOT NULL,
  latency_ms       double precision,           -- median per batch; NULL for signal evaluations
  latency_ci_low_ms  double precision,
  latency_ci_high_ms double precision,
  batch_size       integer NOT NULL,
  model_bytes      bigint NOT NULL,
  energy_j         double precision NOT NULL,  -- per sample
  energy_source    text NOT NULL DEFAULT 'estimated',
  objective        double precision,           -- the spec's objective over FP32's (lower is better)
  within_budget    boolean NOT NULL,
  on_front         boolean NOT NULL DEFAULT false,  -- set when the search ends
  seconds          double precision NOT NULL,
  candidate        jsonb NOT NULL,             -- the engine's whole record, read back on resume
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job_id, key),
  CHECK (jsonb_typeof(assignment) = 'array'),
  CHECK (jsonb_typeof(candidate) = 'object')
);

-- The search's summary when it ends (signals per layer, strategies, correlations, the
-- chosen and fallback candidates); cleared with the other results by a new claim.
ALTER TABLE jobs ADD COLUMN search jsonb;

-- For dashboards: the candidates with their team and model, accuracy against latency and
-- size, the front marked.
CREATE VIEW search_front AS
SELECT j.team_id, s.job_id, m.name AS model, s.key, s.strategy, s.assignment, s.samples, s.top1,
       s.drop_points, s.ci_low_points, s.ci_high_points, s.latency_ms, s.batch_size, s.model_bytes, s.energy_j,
       s.energy_source, s.objective, s.within_budget, s.on_front, s.attempt, s.worker, s.created_at,
       (j.search->>'best_key') = s.key AS chosen, (j.search->>'fallback_key') = s.key AS fallback
FROM search_candidates s
JOIN jobs j ON j.id = s.job_id
LEFT JOIN models m ON m.id = j.model_id;

GRANT SELECT ON search_front TO qbench_dashboard;
