-- 0007: weight rounding per layer (issue 13). Each quantized layer records how its weights
-- were rounded ('nearest', 'gptq', 'adaround'), the seconds it took, and its output SQNR on
-- the calibration inputs with that rounding and with round-to-nearest (dB; NULL for
-- nearest-rounded layers, where there is nothing to compare).
ALTER TABLE layer_results ADD COLUMN rounding text NOT NULL DEFAULT 'nearest';
ALTER TABLE layer_results ADD COLUMN rounding_seconds double precision;
ALTER TABLE layer_results ADD COLUMN rounding_sqnr_db double precision;
ALTER TABLE layer_results ADD COLUMN nearest_sqnr_db double precision;

-- The per-layer view gains the same columns (at its end, as CREATE OR REPLACE requires).
CREATE OR REPLACE VIEW layer_sensitivity AS
SELECT j.team_id, l.job_id, c.name AS config, l.ordinal, l.layer, l.op_type, l.quantized,
       l.weight_bits, l.activation_bits, l.sqnr_db, l.isolated_sqnr_db, l.isolated_output_sqnr_db, l.note,
       m.name AS model, l.rounding, l.rounding_seconds, l.rounding_sqnr_db, l.nearest_sqnr_db
FROM layer_results l
JOIN jobs j ON j.id = l.job_id
JOIN job_configs c ON c.id = l.config_id
LEFT JOIN models m ON m.id = j.model_id;
