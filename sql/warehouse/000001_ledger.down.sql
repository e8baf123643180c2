DROP TABLE IF EXISTS nightshift.watermarks;
DROP TABLE IF EXISTS nightshift.step_runs;
DROP TABLE IF EXISTS nightshift.runs;
DROP SCHEMA IF EXISTS nightshift;
-- reporting is left alone: it holds the analysts' tables, and a schema
-- migration must never drop data.
